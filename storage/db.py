"""Engine and session factory from a URL; schema upgrades through Alembic."""

from __future__ import annotations

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


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error: no half-written rows."""
    bind: Any = engine
    if write and is_sqlite(engine):
        bind = engine.execution_options(sqlite_immediate=True)
    with Session(bind, expire_on_commit=False) as session:
        try:
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
    """The first row of a one-statement read, on a pooled DBAPI connection.

    For reads asked on every request (data versions): a Session, or even a Core Connection,
    costs several times the query itself (SQLAlchemy bookkeeping, and on PostgreSQL a BEGIN
    and a ROLLBACK round trip besides the query). `statement` must be built once (it is a
    cache key). Driver errors come out as SQLAlchemy's DBAPIError, as from any other query.
    """
    sql, order = _driver_sql(statement, engine.dialect)
    bound: Any = tuple(params[name] for name in order) if order is not None else params
    dbapi_error = engine.dialect.loaded_dbapi.Error
    connection = engine.raw_connection()
    try:
        driver: Any = connection.driver_connection
        # PostgreSQL drivers open a transaction for a SELECT unless told not to; the pool's
        # rollback on return is then one more round trip. SQLite's connections already
        # autocommit here (pysqlite's own transactions are off, see _configure_sqlite).
        autocommit = engine.dialect.name == "postgresql" and hasattr(driver, "autocommit")
        if autocommit:
            driver.autocommit = True
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, bound)
                return cursor.fetchone()
            finally:
                cursor.close()
        finally:
            if autocommit:
                driver.autocommit = False
    except dbapi_error as err:
        raise DBAPIError.instance(sql, bound, err, dbapi_error) from err
    finally:
        connection.close()


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
