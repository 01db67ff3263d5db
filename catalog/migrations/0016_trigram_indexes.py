"""pg_trgm and GIN trigram indexes on pattern titles and tag names, for typo-tolerant search (catalog.typos), where the
server offers the extension (production's pgvector/pgvector image does). Elsewhere (the embedded PostgreSQL of tests
and ``make run`` ships without contrib) this does nothing and search corrects typos in Python with the same result.
"""

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger(__name__)

INDEXES = (
    ("catalog_pattern_title_trgm", "catalog_pattern", "title"),
    ("catalog_tag_name_trgm", "catalog_tag", "name"),
)


def create_trigram_indexes(apps, schema_editor):  # type: ignore[no-untyped-def]
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cursor.fetchone() is None:
            logger.info("%s", "pg_trgm is not available on this server: typo correction runs in Python")
            return
        try:
            with transaction.atomic(using=schema_editor.connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DatabaseError as error:  # e.g. a role without CREATE on the database
            logger.warning("pg_trgm could not be installed (%s): typo correction runs in Python", error)
            return
        for name, table, column in INDEXES:
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)")


def drop_trigram_indexes(apps, schema_editor):  # type: ignore[no-untyped-def]
    with schema_editor.connection.cursor() as cursor:
        for name, _table, _column in INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0015_tag_kind"),
    ]

    operations = [
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes),
    ]
