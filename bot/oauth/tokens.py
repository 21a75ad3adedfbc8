"""Tokens per workspace from the installation store, rotated once across every process.

Slack's rotating tokens live 12 hours and each refresh token works once. Bolt rotates on
requests (its `InstallationStoreAuthorize`), the scheduler before it posts; both go through
`SerialTokenRotator`, which takes the workspace's rotation lock, re-reads the installation
(another process may have just refreshed it), refreshes only if it is still due, and saves
before letting go of the lock: a refresh saved after the lock is released would let the next
process spend the same refresh token again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import Engine

from storage.installations import SealedInstallationStore, rotation_lock

log = logging.getLogger(__name__)

# Refresh this long before a token expires (Bolt's default too).
ROTATE_MINUTES_BEFORE = 120


class SerialTokenRotator(TokenRotator):
    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        client: WebClient,
        store: SealedInstallationStore,
        engine: Engine,
    ) -> None:
        super().__init__(client_id=client_id, client_secret=client_secret, client=client)
        self.store = store
        self.engine = engine

    def perform_token_rotation(
        self, *, installation: Installation, minutes_before_expiration: int = 120
    ) -> Installation | None:
        if not _due(installation, minutes_before_expiration):
            return None
        team_id = installation.team_id or ""
        with rotation_lock(self.engine, team_id):
            current = self.store.find_installation(
                enterprise_id=installation.enterprise_id,
                team_id=installation.team_id,
                is_enterprise_install=installation.is_enterprise_install,
            )
            if current is None:
                return None  # uninstalled meanwhile
            if not _due(current, minutes_before_expiration):
                return current  # another process refreshed it while this one waited
            return self._refresh(current, minutes_before_expiration)

    def replace_refused(self, *, team_id: str, refused: str) -> Installation | None:
        """Slack said `refused` has expired although the store says it has time left (a
        clock apart, a refresh lost): refresh now, unless another process already has."""
        with rotation_lock(self.engine, team_id):
            current = self.store.find_installation(enterprise_id=None, team_id=team_id)
            if current is None or current.bot_token != refused or not current.bot_refresh_token:
                return current
            # Any token it has counts as due: Slack's tokens live 12 hours.
            return self._refresh(current, 24 * 60)

    def _refresh(self, current: Installation, minutes: int) -> Installation | None:
        refreshed = super().perform_token_rotation(
            installation=current, minutes_before_expiration=minutes
        )
        if refreshed is not None:
            self.store.save(refreshed)
            log.info("rotated the bot token of %s", current.team_id)
        return refreshed


def _due(installation: Installation, minutes: int) -> bool:
    deadline = time.time() + minutes * 60
    expiries = [
        installation.bot_token_expires_at if installation.bot_refresh_token else None,
        installation.user_token_expires_at if installation.user_refresh_token else None,
    ]
    return any(e is not None and e <= deadline for e in expiries)


class WorkspaceTokens:
    """The scheduler's `tokens(team_id)`: each workspace's bot token, kept for `ttl` seconds
    and refreshed before each batch (`prepare`, on the scheduler's thread), so the sender's
    event loop never waits for the database or a refresh."""

    def __init__(
        self,
        *,
        store: SealedInstallationStore,
        rotator: SerialTokenRotator,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.rotator = rotator
        self.ttl = ttl
        self.clock = clock
        self._kept: dict[str, tuple[float, str | None]] = {}
        self._refused: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, team_id: str) -> str | None:
        kept = self._kept.get(team_id)
        if kept is not None and self.clock() - kept[0] < self.ttl:
            return kept[1]
        return self._load(team_id)

    def prepare(self, team_ids: Iterable[str]) -> None:
        for team_id in set(team_ids):
            self(team_id)

    def forget(self, team_id: str) -> None:
        """Slack refused the token: read it again, and refresh it if it is still that one."""
        with self._lock:
            kept = self._kept.pop(team_id, None)
            if kept is not None and kept[1]:
                self._refused[team_id] = kept[1]

    def _load(self, team_id: str) -> str | None:
        installation = self.store.find_installation(enterprise_id=None, team_id=team_id)
        token: str | None = None
        refused = self._refused.pop(team_id, None)
        if installation is not None:
            token = installation.bot_token
            try:
                if refused is not None and refused == token:
                    refreshed = self.rotator.replace_refused(team_id=team_id, refused=refused)
                else:
                    refreshed = self.rotator.perform_token_rotation(
                        installation=installation, minutes_before_expiration=ROTATE_MINUTES_BEFORE
                    )
            except (SlackTokenRotationError, SlackApiError) as err:
                # The current token may still have hours left: use it, try again next time.
                log.warning("token rotation for %s failed: %s", team_id, _error_of(err))
                refreshed = None
            if refreshed is not None:
                token = refreshed.bot_token
        with self._lock:
            self._kept[team_id] = (self.clock(), token)
        return token


def _error_of(err: Exception) -> str:
    # Slack's error name, never the request (it carries the refresh token).
    api_error = getattr(err, "api_error", None) or err
    response = getattr(api_error, "response", None)
    return str(response.get("error")) if response is not None else type(err).__name__
