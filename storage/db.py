"""Engine and session factory from a URL; schema upgrades through Alembic."""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Dialect, Engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlmodel import Session, create_engine

from storage import replay

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same in every process sharing the database.
_MIGRATION_LOCK_KEY = 0x646B73


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine that behaves the same way on SQLite and PostgreSQL."""
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        connect_args = {"check_same_thread": False, "timeout": 30}
        if in_memory:
            kwargs.setdefault("poolclass", StaticPool)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine, wal=not in_memory)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # A server that accepts and never answers would hold a request for minutes (libpq waits
    # forever); a few seconds is already past Slack's patience. The URL's own value wins.
    if "connect_timeout" not in url:
        kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", 3)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN in ways that break
        # BEGIN IMMEDIATE and savepoints; SQLAlchemy's documented recipe turns it off.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # What is deleted or overwritten is zeroed, not left in free space: an answer made
        # anonymous must not keep its sender's id in the file (see `checkpoint`).
        cursor.execute("PRAGMA secure_delete=ON")
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front so two writers never deadlock upgrading
        # a read lock (SQLite answers that with SQLITE_BUSY, immediately).
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


CHECKPOINT_WAIT_MS = 2000


def checkpoint(engine: Engine) -> bool:
    """SQLite: copy the write-ahead log into the database file and empty it, so an
    overwritten row (an answer made anonymous) survives in neither; False if a reader kept
    it from finishing (the next checkpoint does it). PostgreSQL keeps old row versions until
    VACUUM: see docs/operations.md. Takes up to CHECKPOINT_WAIT_MS: call it after the ack."""
    if not is_sqlite(engine):
        return True
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        previous = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
        try:
            # Wait for readers this long at most, not the connection's usual 30 seconds.
            cursor.execute(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
            busy = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        finally:
            cursor.execute(f"PRAGMA busy_timeout={int(previous)}")
            cursor.close()
    finally:
        connection.close()
    return not busy


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error: no half-written rows.

    A write session inside a request first stores the request's replay key (storage.replay):
    a replayed request stops there, with `Replayed`, before it changes anything.
    """
    bind: Any = engine
    if write and is_sqlite(engine):
        bind = engine.execution_options(sqlite_immediate=True)
    with Session(bind, expire_on_commit=False) as session:
        try:
            if write:
                replay.claim(session)
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to `revision`; safe when several processes start at once."""
    config = alembic_config(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            conn.commit()
            try:
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
                conn.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK_KEY})
                conn.commit()
    else:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The applied revision(s), comma-separated when feature branches are both applied."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return ",".join(sorted(heads)) or None


@lru_cache(maxsize=32)
def _driver_sql(statement: ClauseElement, dialect: Dialect) -> tuple[str, tuple[str, ...] | None]:
    """`statement` in the driver's own SQL, and the order of its parameters when the driver
    takes them by position (SQLite's «?»)."""
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    order = tuple(compiled.positiontup or ()) if compiled.positional else None
    return str(compiled), order


def read_one(engine: Engine, statement: ClauseElement, params: dict[str, Any]) -> Any | None:
    """The first row of a one-statement read, on a raw DBAPI connection.

    For reads asked on every request (data versions): a Session, or even a Core Connection,
    costs several times the query itself (SQLAlchemy bookkeeping, and on PostgreSQL a BEGIN
    and a ROLLBACK round trip besides the query). On PostgreSQL the read also skips the pool's
    pre-ping (`_ReadConnections`). `statement` must be built once (it is a cache key). Driver
    errors come out as SQLAlchemy's DBAPIError, as from any other query.
    """
    sql, order = _driver_sql(statement, engine.dialect)
    bound: Any = tuple(params[name] for name in order) if order is not None else params
    if engine.dialect.name == "sqlite":
        # SQLite's connections already autocommit here (pysqlite's own transactions are off,
        # see _configure_sqlite), and its pool does not ping.
        connection = engine.raw_connection()
        try:
            return _fetch_one(engine, connection, sql, bound)
        finally:
            connection.close()
    return _ReadConnections.of(engine).fetch_one(sql, bound)


def _fetch_one(engine: Engine, connection: Any, sql: str, bound: Any) -> Any | None:
    dbapi_error = engine.dialect.loaded_dbapi.Error
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(sql, bound)
            return cursor.fetchone()
        finally:
            cursor.close()
    except dbapi_error as err:
        raise DBAPIError.instance(sql, bound, err, dbapi_error) from err


class _ReadConnections:
    """A few connections of a PostgreSQL engine kept apart for `read_one`, in autocommit.

    The pool pings every connection it hands out (`pool_pre_ping`), so that a database
    restart never fails a request: on PostgreSQL that ping cost more than the read itself.
    These connections are not pinged; a read that finds its connection dropped closes it
    and reads again on a new one, which is as safe for a read and costs only after a
    restart. They close with `engine.dispose()`, and a forked process starts its own.
    """

    KEEP = 16

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._free: list[Any] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        event.listen(engine, "engine_disposed", lambda _engine: self.close())

    @classmethod
    def of(cls, engine: Engine) -> _ReadConnections:
        found = _READ_CONNECTIONS.get(engine)
        if found is None:
            with _READ_CONNECTIONS_LOCK:
                found = _READ_CONNECTIONS.get(engine)
                if found is None:
                    found = _READ_CONNECTIONS[engine] = cls(engine)
        return found

    def fetch_one(self, sql: str, bound: Any, *, again: bool = True) -> Any | None:
        connection = self._take()
        try:
            row = _fetch_one(self._engine, connection, sql, bound)
        except DBAPIError as err:
            orig: Any = err.orig
            if not self._engine.dialect.is_disconnect(orig, connection, None):
                self._give_back(connection)
                raise
            connection.close()
            if not again:
                raise
            return self.fetch_one(sql, bound, again=False)
        self._give_back(connection)
        return row

    def _take(self) -> Any:
        with self._lock:
            if self._pid != os.getpid():
                # Forked: the parent's sockets are not ours to use (or to close).
                self._free, self._pid = [], os.getpid()
            if self._free:
                return self._free.pop()
        # A new connection from the engine's own settings (pinged once, as the pool does).
        fairy = self._engine.raw_connection()
        fairy.detach()
        connection: Any = fairy.dbapi_connection
        connection.autocommit = True  # one SELECT: no BEGIN, and no ROLLBACK after it
        return connection

    def _give_back(self, connection: Any) -> None:
        with self._lock:
            if self._pid == os.getpid() and len(self._free) < self.KEEP:
                self._free.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            free, self._free = self._free, []
        for connection in free:
            with contextlib.suppress(Exception):  # a dead socket is gone either way
                connection.close()


_READ_CONNECTIONS: weakref.WeakKeyDictionary[Engine, _ReadConnections] = weakref.WeakKeyDictionary()
_READ_CONNECTIONS_LOCK = threading.Lock()


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
