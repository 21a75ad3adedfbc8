"""Installations ("Add to Slack"): slack_sdk's SQLAlchemy stores on the project's database,
with every token encrypted at rest.

- `SealedInstallationStore`: slack_sdk's `SQLAlchemyInstallationStore` whose token columns
  encrypt on save and decrypt on find (Fernet; `MultiFernet` so a new key can be put first
  while rows written with the old one still read — `dks-bot db rotate-token-key` re-encrypts).
  The tables are created by migration 0009, not by the store.
- `rotation_lock`: Slack's refresh tokens are single-use, so a refresh must happen once per
  workspace across every process: a PostgreSQL advisory lock, or a lock file beside the SQLite
  database (SQLite is one machine's database; its own write lock cannot be held across the
  store's separate connections without deadlocking them).
- `installed_team_ids`: the workspaces with a bot installation.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from cachetools import TTLCache
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from filelock import FileLock
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.cacheable_installation_store import (
    CacheableInstallationStore,
)
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, TypeDecorator
from sqlmodel import Session

log = logging.getLogger(__name__)

TOKEN_COLUMNS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
# The state a browser carries from /slack/install to Slack and back: ten minutes to click.
STATE_EXPIRATION_SECONDS = 600


class TokenKeyError(Exception):
    """A stored token cannot be decrypted with DKS_TOKEN_KEY (a key was dropped too soon)."""


def token_cipher(keys: Sequence[str]) -> MultiFernet:
    """Encrypt with the first key, decrypt with any (DKS_TOKEN_KEY, newest first)."""
    if not keys:
        raise ValueError("no token key")
    return MultiFernet([Fernet(k) for k in keys])


class SealedText(TypeDecorator[str]):
    """TEXT holding a Fernet token of the value; None stays NULL."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, cipher: MultiFernet) -> None:
        super().__init__()
        self.cipher = cipher

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return self.cipher.encrypt(value.encode()).decode()

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        try:
            return self.cipher.decrypt(value.encode()).decode()
        except InvalidToken:
            raise TokenKeyError(
                "a stored Slack token cannot be decrypted with DKS_TOKEN_KEY: keep the old key "
                "after the new one until `dks-bot db rotate-token-key` has run"
            ) from None


class SealedInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's store; its token columns encrypt on save and decrypt on find."""

    def __init__(self, client_id: str, engine: Engine, cipher: MultiFernet) -> None:
        # On SQLite the store's read-then-write transactions take the write lock up front
        # (storage.db): two installs at once would otherwise fail with "database is locked".
        super().__init__(client_id=client_id, engine=_writer(engine))
        sealed = SealedText(cipher)
        for table in (self.bots, self.installations):
            for name in TOKEN_COLUMNS:
                if name in table.c:
                    table.c[name].type = sealed

    def team_ids(self) -> list[str]:
        """The workspaces with a bot token, oldest installation first."""
        c = self.bots.c
        query = (
            sa.select(c.team_id)
            .where(c.client_id == self.client_id, c.team_id.is_not(None))
            .group_by(c.team_id)
            .order_by(sa.func.min(c.installed_at))
        )
        with self.engine.connect() as conn:
            return [row[0] for row in conn.execute(query)]

    def reencrypt(self) -> int:
        """Re-encrypt every stored token with the newest key; the number of rows rewritten."""
        rewritten = 0
        with self.engine.begin() as conn:
            for table in (self.bots, self.installations):
                columns = [table.c[name] for name in TOKEN_COLUMNS if name in table.c]
                for row in conn.execute(sa.select(table.c.id, *columns)).mappings():
                    values = {col.name: row[col.name] for col in columns}
                    conn.execute(table.update().where(table.c.id == row["id"]).values(**values))
                    rewritten += 1
        return rewritten


class RecentInstallations(CacheableInstallationStore):
    """slack_sdk's in-memory cache in front of the sealed store, for Bolt's per-request
    authorize: its entries expire after `ttl` seconds, so an installation changed by another
    process (a rotated token, a reinstall) is seen within that time here too.

    Without it every request costs two reads and two decryptions (the workspace's
    installation, then the requesting user's own, which never exists: the bot asks for no user
    scopes), about as much as the rest of `/dks frist` together (bench.workspaces). A token
    another process rotated is no harm for `ttl`: Slack keeps the old one valid until it
    expires, and tokens are refreshed two hours before that.
    """

    def __init__(self, store: SealedInstallationStore, *, ttl: float = 30.0) -> None:
        super().__init__(store)
        self._lock = threading.RLock()
        self.cached_bots = TTLCache(maxsize=4096, ttl=ttl)  # type: ignore[assignment]
        self.cached_installations = TTLCache(maxsize=4096, ttl=ttl)  # type: ignore[assignment]
        # A user's own installation that does not exist; a workspace's is never cached
        # missing (it may have just been installed through another process).
        self._no_user_installation: TTLCache[tuple[str | None, ...], bool] = TTLCache(
            maxsize=8192, ttl=ttl
        )

    @property
    def sealed(self) -> SealedInstallationStore:
        return cast(SealedInstallationStore, self.underlying)

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        key = (enterprise_id, team_id, user_id)
        with self._lock:
            if user_id is not None and key in self._no_user_installation:
                return None
            found = super().find_installation(
                enterprise_id=enterprise_id,
                team_id=team_id,
                user_id=user_id,
                is_enterprise_install=is_enterprise_install,
            )
            if found is None and user_id is not None:
                self._no_user_installation[key] = True
            return found

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        with self._lock:
            return super().find_bot(
                enterprise_id=enterprise_id,
                team_id=team_id,
                is_enterprise_install=is_enterprise_install,
            )

    def save(self, installation: Installation) -> None:
        with self._lock:
            self._no_user_installation.clear()
            super().save(installation)

    def save_bot(self, bot: Bot) -> None:
        with self._lock:
            super().save_bot(bot)

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        with self._lock:
            super().delete_all(enterprise_id=enterprise_id, team_id=team_id)

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        with self._lock:
            super().delete_installation(
                enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
            )

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        with self._lock:
            super().delete_bot(enterprise_id=enterprise_id, team_id=team_id)


def make_state_store(engine: Engine) -> SQLAlchemyOAuthStateStore:
    return SQLAlchemyOAuthStateStore(
        expiration_seconds=STATE_EXPIRATION_SECONDS, engine=_writer(engine)
    )


def _writer(engine: Engine) -> Engine:
    if engine.dialect.name == "sqlite":
        return engine.execution_options(sqlite_immediate=True)
    return engine


def installed_team_ids(*, session: Session) -> list[str]:
    """Workspaces with a bot installation (any client id), sorted."""
    bots = sa.table("slack_bots", sa.column("team_id"), sa.column("bot_token"))
    query = (
        sa.select(bots.c.team_id)
        .where(bots.c.team_id.is_not(None), bots.c.bot_token.is_not(None))
        .distinct()
        .order_by(bots.c.team_id)
    )
    return [row[0] for row in session.connection().execute(query)]


def installed_team_names(*, session: Session) -> dict[str, str | None]:
    """Workspaces with a bot installation and their names as Slack last gave them, by id."""
    bots = sa.table(
        "slack_bots",
        sa.column("team_id"),
        sa.column("team_name"),
        sa.column("bot_token"),
        sa.column("installed_at"),
    )
    query = (
        sa.select(bots.c.team_id, bots.c.team_name)
        .where(bots.c.team_id.is_not(None), bots.c.bot_token.is_not(None))
        .order_by(bots.c.installed_at)
    )
    # Oldest first, so the newest installation's name wins.
    return {row[0]: row[1] for row in session.connection().execute(query)}


_IN_PROCESS = threading.Lock()


@contextmanager
def rotation_lock(engine: Engine, team_id: str, *, timeout: float = 30.0) -> Iterator[None]:
    """Held while one process refreshes a workspace's tokens; the others wait, then re-read.

    Refreshes are rare (each token lives 12 hours), so threads share one lock."""
    if not _IN_PROCESS.acquire(timeout=timeout):
        raise TimeoutError(f"token rotation for {team_id}: lock not acquired in {timeout} s")
    try:
        with _across_processes(engine, team_id, timeout):
            yield
    finally:
        _IN_PROCESS.release()


@contextmanager
def _across_processes(engine: Engine, team_id: str, timeout: float) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"rotate:{team_id}".encode()).digest()[:8], "big")
        key -= 1 << 63 if key >= 1 << 63 else 0  # a signed bigint
        with engine.connect() as conn:
            conn.execute(
                sa.text("SELECT set_config('lock_timeout', :t, true)"),
                {"t": f"{int(timeout * 1000)}ms"},
            )
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield  # one process, one connection: nothing to share with
        return
    with FileLock(str(Path(database).with_suffix(".tokens.lock")), timeout=timeout):
        yield
