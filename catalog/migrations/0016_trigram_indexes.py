"""pg_trgm and GIN trigram indexes on pattern titles and tag names, for typo-tolerant search (catalog.typos), where the
server offers the extension (production's pgvector/pgvector image does). Elsewhere (the embedded PostgreSQL of tests
and ``make run`` ships without contrib) this does nothing and search corrects typos in Python with the same result.
"""

import logging

import psycopg2
from django.db import DatabaseError, migrations

logger = logging.getLogger(__name__)

INDEXES = (
    ("catalog_pattern_title_trgm", "catalog_pattern", "title"),
    ("catalog_tag_name_trgm", "catalog_tag", "name"),
)


def install(cursor) -> bool:  # type: ignore[no-untyped-def]
    """pg_trgm and the indexes, if the server offers the extension and the role may create it; whether it did.
    Takes any DB-API cursor inside a transaction (a failed CREATE EXTENSION is rolled back to a savepoint)."""
    cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    if cursor.fetchone() is None:
        logger.info("%s", "pg_trgm is not available on this server: typo correction runs in Python")
        return False
    cursor.execute("SAVEPOINT tessera_pg_trgm")
    try:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except (DatabaseError, psycopg2.Error) as error:  # e.g. a role without CREATE on the database
        cursor.execute("ROLLBACK TO SAVEPOINT tessera_pg_trgm")
        logger.warning("pg_trgm could not be installed (%s): typo correction runs in Python", error)
        return False
    cursor.execute("RELEASE SAVEPOINT tessera_pg_trgm")
    for name, table, column in INDEXES:
        cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)")
    return True


def uninstall(cursor) -> None:  # type: ignore[no-untyped-def]
    """Drop the indexes (the extension stays: other things may use it)."""
    for name, _table, _column in INDEXES:
        cursor.execute(f"DROP INDEX IF EXISTS {name}")


def create_trigram_indexes(apps, schema_editor):  # type: ignore[no-untyped-def]
    with schema_editor.connection.cursor() as cursor:
        install(cursor)


def drop_trigram_indexes(apps, schema_editor):  # type: ignore[no-untyped-def]
    with schema_editor.connection.cursor() as cursor:
        uninstall(cursor)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0015_tag_kind"),
    ]

    operations = [
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes),
    ]
