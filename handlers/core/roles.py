"""Who is a coordinator: workspace admins and owners, plus the people a workspace lists."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine

from storage.snapshot import SnapshotCache, WorkspaceSnapshot

log = logging.getLogger(__name__)


class RoleChecker:
    """Caches `users.info` answers: admins rarely change, and users.info is rate limited."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        ttl_seconds: float = 300.0,
        snapshots: SnapshotCache | None = None,
    ) -> None:
        # The listed coordinators are read through the snapshot: a role check runs on every
        # Home tab and every write, and the snapshot answers it from memory once it is current.
        self._snapshots = snapshots or SnapshotCache(engine)
        self._clock = clock
        self._ttl = ttl_seconds
        self._admins: dict[tuple[str, str], tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def is_coordinator(
        self,
        *,
        client: WebClient,
        team_id: str,
        user_id: str,
        snapshot: WorkspaceSnapshot | None = None,
    ) -> bool:
        """`snapshot`: the workspace as the caller has just read it (saves reading it twice)."""
        snapshot = snapshot or self._snapshots.get(team_id)
        if user_id in snapshot.settings.coordinators:
            return True
        return self.is_workspace_admin(client=client, team_id=team_id, user_id=user_id)

    def is_workspace_admin(self, *, client: WebClient, team_id: str, user_id: str) -> bool:
        now = self._clock().timestamp()
        with self._lock:
            cached = self._admins.get((team_id, user_id))
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        try:
            user = client.users_info(user=user_id)["user"]
        except SlackApiError as err:
            # Not cached: a transient failure must not demote an admin for five minutes.
            log.warning("users.info failed for %s: %s", user_id, err.response.get("error"))
            return False
        admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        with self._lock:
            self._admins[(team_id, user_id)] = (now, admin)
        return admin

    def forget(self, *, team_id: str, user_id: str) -> None:
        with self._lock:
            self._admins.pop((team_id, user_id), None)
