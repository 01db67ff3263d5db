"""Typo correction gives the same answers whichever way the server computes it (issue 10, "Typo tolerance").

Production has pg_trgm (pgvector/pgvector image) and corrects typos in SQL through GIN trigram indexes; the embedded
PostgreSQL of tests and ``make run`` has no contrib, so there the Python scorer runs (tests/catalog/
test_search_steering.py exercises it end to end). The parity test runs the SQL path on a throwaway cluster of any
locally installed PostgreSQL that has pg_trgm (Debian's postgresql package), and is skipped where there is none.
"""

from __future__ import annotations

import glob
import importlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from catalog import selectors, typos

migration = importlib.import_module("catalog.migrations.0016_trigram_indexes")

# A private socket directory, so the port cannot collide with anything; from this session's range.
PORT = 8719

TITLES = [
    ("Axolotl planter", "published"),
    ("Flower pot", "published"),
    ("Rose garland", "published"),
    ("Hexagon tile coaster", "published"),
    ("T-rex skull bookend", "published"),
    ("Moon lamp", "published"),
    ("Gear wheel keychain", "published"),
    ("Mandala wall art", "published"),
    ("Cable organiser clip", "published"),
    ("Flowery drafty teapot", "draft"),  # not published: not part of the vocabulary
]
TAGS = ["flower", "hexagonal", "mandala", "sky-blue", "planter", "garden", "geometric", "lamp", "aaa"]

TYPOS = [
    "axolotll",
    "flowr",
    "hexagonn",
    "qwzx",
    "planterr",
    "mandla",
    "gaer",
    "moon",
    "lamps",
    "trex",
    "skyblue",
    "teapot",  # only in a draft title
    "drafty",
    "ab",
    "1234",
    "aaaa",  # the same trigrams as the tag "aaa": similarity 1 but not the same word
    "organizer",
    "coster",
    "keychian",
]


def _edits(word: str) -> set[str]:
    """Every single deletion, adjacent transposition and doubling of ``word``: a few hundred realistic typos."""
    edits = {word[:i] + word[i + 1 :] for i in range(len(word))}
    edits |= {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
    edits |= {word[:i] + word[i] + word[i:] for i in range(len(word))}
    return edits


def _postgres_with_pg_trgm() -> Path | None:
    for postgres in sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), reverse=True):
        root = Path(postgres).parent.parent
        if (root / "lib" / "pg_trgm.so").exists() and shutil.which("pg_ctl", path=str(root / "bin")):
            return root / "bin"
    return None


@pytest.fixture(scope="module")
def trgm_cursor() -> Iterator[Any]:
    """A cursor on a throwaway cluster with pg_trgm and the two catalogue tables the corrections read."""
    bin_dir = _postgres_with_pg_trgm()
    if bin_dir is None:
        pytest.skip("no local PostgreSQL with pg_trgm (/usr/lib/postgresql/*/lib/pg_trgm.so): SQL path not tested")
    run_as: dict[str, Any] = {}
    directory = Path(tempfile.mkdtemp(prefix="tessera-trgm-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        owner = pwd.getpwnam("postgres")
        os.chown(directory, owner.pw_uid, owner.pw_gid)
        run_as = {"user": owner.pw_uid, "group": owner.pw_gid}
    data = directory / "data"
    subprocess.run(
        [bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
        check=True,
        capture_output=True,
        **run_as,
    )
    options = f"-c listen_addresses='' -k {directory} -p {PORT} -c fsync=off"
    subprocess.run(
        [bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", directory / "log", "-w", "start"],
        check=True,
        capture_output=True,
        **run_as,
    )
    try:
        conn = psycopg2.connect(host=str(directory), port=PORT, user="postgres", dbname="postgres")
        with conn.cursor() as cursor:
            cursor.execute("CREATE TABLE catalog_pattern (id serial PRIMARY KEY, title varchar(200), status text)")
            cursor.execute("CREATE TABLE catalog_tag (id serial PRIMARY KEY, name varchar(60) UNIQUE)")
            cursor.executemany("INSERT INTO catalog_pattern (title, status) VALUES (%s, %s)", TITLES)
            cursor.executemany("INSERT INTO catalog_tag (name) VALUES (%s)", [(tag,) for tag in TAGS])
            assert migration.install(cursor) is True
            yield cursor
        conn.close()
    finally:
        subprocess.run(
            [bin_dir / "pg_ctl", "-D", data, "-m", "fast", "stop"], check=False, capture_output=True, **run_as
        )
        shutil.rmtree(directory, ignore_errors=True)


def test_sql_corrections_match_the_python_scorer(trgm_cursor) -> None:  # type: ignore[no-untyped-def]
    cursor = trgm_cursor
    assert typos.has_pg_trgm(cursor)
    expected = {
        "axolotll": "axolotl",
        "flowr": "flower",
        "hexagonn": "hexagon",
        "planterr": "planter",
        "mandla": "mandala",
        "lamps": "lamp",
        "coster": "coaster",
    }
    assert {word: typos.sql_corrections(cursor, [word]).get(word, word) for word in expected} == expected
    # Nonsense, known words, short words, digits and words of unpublished patterns are not corrected.
    for word in ("qwzx", "moon", "ab", "1234", "teapot", "drafty"):
        assert typos.sql_corrections(cursor, [word]) == {}, word
        assert typos.python_corrections_from(cursor, [word]) == {}, word

    # Word by word, then as multi-word queries, then a few hundred systematic typos of every vocabulary word.
    for word in TYPOS:
        assert typos.sql_corrections(cursor, [word]) == typos.python_corrections_from(cursor, [word]), word
    for query in (["axolotll", "planter"], ["flowr", "pott", "qwzx"], ["moon", "lamp"], TYPOS):
        assert typos.sql_corrections(cursor, query) == typos.python_corrections_from(cursor, query), query
    cursor.execute(typos.VOCABULARY_SQL)
    vocabulary = sorted(word for (word,) in cursor.fetchall())
    edits = sorted(set().union(*(_edits(word) for word in vocabulary)))
    assert len(edits) > 300
    sql, python = typos.sql_corrections(cursor, edits), typos.python_corrections_from(cursor, edits)
    assert len(python) > 150  # most single-letter typos are corrected
    assert sql == python


def test_pg_trgm_and_the_python_scorer_agree_on_similarity(trgm_cursor) -> None:  # type: ignore[no-untyped-def]
    pairs = [("axolotll", "axolotl"), ("trex", "t-rex"), ("skyblue", "sky-blue"), ("aaaa", "aaa"), ("qwzx", "moon")]
    for a, b in pairs:
        trgm_cursor.execute("SELECT similarity(%s, %s)", [a, b])
        assert trgm_cursor.fetchone()[0] == pytest.approx(typos.similarity(a, b), abs=1e-6), (a, b)


def test_the_sql_path_uses_the_trigram_indexes(trgm_cursor) -> None:  # type: ignore[no-untyped-def]
    trgm_cursor.execute("SET enable_seqscan = off")
    trgm_cursor.execute("SELECT set_config('pg_trgm.word_similarity_threshold', '0.4', true)")
    trgm_cursor.execute(
        "EXPLAIN " + typos._CORRECTION_SQL, {"words": ["flowr"], "length": 3, "limit": typos.SIMILARITY}
    )
    plan = "\n".join(row for (row,) in trgm_cursor.fetchall())
    trgm_cursor.execute("RESET enable_seqscan")
    assert "catalog_pattern_title_trgm" in plan
    assert "catalog_tag_name_trgm" in plan


# Run in a separate process whose default database is the pg_trgm cluster (the test process's is the embedded one).
_SELECTOR_SCRIPT = """
import json
import django
django.setup()
from django.db import connection
from django.test.utils import CaptureQueriesContext
from catalog import selectors
with CaptureQueriesContext(connection) as captured:
    answers = {query: selectors.search_suggestion(query=query) for query in QUERIES}
sql = " ".join(query["sql"] for query in captured.captured_queries)
print(json.dumps({"answers": answers, "sql_path": "similarity(" in sql, "ts_stat": "ts_stat" in sql}))
"""


def test_search_suggestion_takes_the_sql_path_where_pg_trgm_is_installed(trgm_cursor) -> None:  # type: ignore[no-untyped-def]
    trgm_cursor.connection.commit()  # the tables, rows and indexes, visible to the other process
    server = trgm_cursor.connection.get_dsn_parameters()
    queries = ["axolotll planter", "flowr", "hexagonn pott", "qwzx", "moon lamp", "ab 1234"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.local",
        "DATABASE_URL": f"postgres://postgres@/postgres?host={server['host']}&port={server['port']}",
        "REDIS_URL": "redis://127.0.0.1:8717/0",  # nothing listens: no embedded Redis is started; unused here
    }
    result = subprocess.run(
        [sys.executable, "-c", f"QUERIES = {queries!r}\n{_SELECTOR_SCRIPT}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {
        "answers": {
            "axolotll planter": "axolotl planter",
            "flowr": "flower",
            "hexagonn pott": "hexagon pot",
            "qwzx": "",
            "moon lamp": "",
            "ab 1234": "",
        },
        "sql_path": True,
        "ts_stat": False,
    }


def _trigram_indexes(cursor: Any) -> list[str]:
    cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%_trgm' ORDER BY indexname")
    return [name for (name,) in cursor.fetchall()]


def test_the_migration_installs_pg_trgm_and_the_indexes_and_reverses(trgm_cursor) -> None:  # type: ignore[no-untyped-def]
    cursor = trgm_cursor
    assert _trigram_indexes(cursor) == ["catalog_pattern_title_trgm", "catalog_tag_name_trgm"]
    migration.uninstall(cursor)
    assert _trigram_indexes(cursor) == []
    assert migration.install(cursor) is True
    assert migration.install(cursor) is True  # again: nothing new, no error
    assert _trigram_indexes(cursor) == ["catalog_pattern_title_trgm", "catalog_tag_name_trgm"]
    assert typos.has_pg_trgm(cursor)


def test_a_role_that_may_not_create_the_extension_gets_no_indexes_and_no_error(trgm_cursor, caplog) -> None:  # type: ignore[no-untyped-def]
    server = trgm_cursor.connection.get_dsn_parameters()

    def connect(user: str, dbname: str) -> Any:
        conn = psycopg2.connect(host=server["host"], port=server["port"], user=user, dbname=dbname)
        conn.autocommit = True
        return conn

    admin = connect("postgres", "postgres")
    with admin.cursor() as cursor:
        cursor.execute("CREATE DATABASE tessera_no_create")
        cursor.execute("CREATE ROLE tessera_app LOGIN")
    owner = connect("postgres", "tessera_no_create")
    with owner.cursor() as cursor:
        cursor.execute("REVOKE CREATE ON DATABASE tessera_no_create FROM PUBLIC")
        cursor.execute("CREATE TABLE catalog_pattern (id serial PRIMARY KEY, title text, status text)")
        cursor.execute("CREATE TABLE catalog_tag (id serial PRIMARY KEY, name text)")
        cursor.execute("GRANT SELECT ON catalog_pattern, catalog_tag TO tessera_app")
    app = psycopg2.connect(host=server["host"], port=server["port"], user="tessera_app", dbname="tessera_no_create")
    try:
        with app.cursor() as cursor:
            assert migration.install(cursor) is False
            assert "pg_trgm could not be installed" in caplog.text  # available, but refused
            assert _trigram_indexes(cursor) == []
            assert typos.has_pg_trgm(cursor) is False
            cursor.execute("SELECT count(*) FROM catalog_pattern")  # the transaction is still usable
            assert cursor.fetchone()[0] == 0
    finally:
        for conn in (app, owner, admin):
            conn.close()


@pytest.mark.django_db
def test_without_pg_trgm_the_migration_is_a_no_op_and_search_scores_in_python() -> None:
    """The embedded server has no contrib: migration 0016 is applied and created nothing; the Python path runs."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cursor.fetchone()[0]:
            pytest.skip("this PostgreSQL offers pg_trgm: the no-op path does not apply")
        assert MigrationRecorder(connection).migration_qs.filter(app="catalog", name="0016_trigram_indexes").exists()
        with connection.schema_editor() as editor:
            migration.create_trigram_indexes(None, editor)  # again: still nothing, no error
            migration.drop_trigram_indexes(None, editor)
            migration.create_trigram_indexes(None, editor)
        cursor.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname LIKE '%%_trgm'")
        assert cursor.fetchone()[0] == 0
    assert selectors._server_has_pg_trgm() is False
