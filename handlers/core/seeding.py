"""Each workspace gets the bundled DKS calendar the first time it talks to the bot.

With one SLACK_BOT_TOKEN (no OAuth), a request from a workspace marked uninstalled means the
app was installed again: the mark is cleared, which also calls off the deletion of its data
after DATA_RETENTION_DAYS. This is checked on the first request per process and after a
farewell event, never on every request. (With OAuth, the install flow clears it.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from handlers.core.values import is_team_id
from storage import replay
from storage.db import session_scope
from storage.importers.calendar import seed_workspace
from storage.models import utcnow
from storage.workspaces import get_or_create_workspace, get_workspace

log = logging.getLogger(__name__)

# Slack's events about the installation ending: they neither seed nor mean «installed again».
FAREWELL_EVENTS = frozenset({"app_uninstalled", "tokens_revoked"})


def is_farewell(body: Mapping[str, Any]) -> bool:
    event = body.get("event")
    return isinstance(event, Mapping) and event.get("type") in FAREWELL_EVENTS


class WorkspaceSeeder:
    """Seeds once per workspace and process; a workspace seeded elsewhere is left as it is.

    `reinstalls`: a workspace marked uninstalled that talks to the bot is installed again
    (one workspace, SLACK_BOT_TOKEN).
    """

    def __init__(self, engine: Engine, *, reinstalls: bool = False) -> None:
        self._engine = engine
        self._reinstalls = reinstalls
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def ensure(self, team_id: str, *, farewell: bool = False) -> None:
        if not team_id:
            return
        if not is_team_id(team_id):
            # Only a crafted request carries one (HTTP refuses it at the front door, Socket
            # Mode has none); PostgreSQL would refuse it in the middle of the request.
            log.info(
                "no workspace seeded for an id that is not Slack's (%d chars)", len(str(team_id))
            )
            return
        if farewell:
            # Look again on the workspace's next request: it may come after a reinstall.
            self._seen.discard(team_id)
            return
        if team_id in self._seen:
            return
        with self._lock:
            if team_id in self._seen:
                return
            try:
                # Seeding is not the request's own write: it claims no replay key.
                with replay.suspended():
                    self._seed(team_id)
            except IntegrityError:
                # Another process seeded the same workspace at the same moment; its rows stand.
                log.info("workspace %s was seeded concurrently", team_id)
            self._seen.add(team_id)

    def _seed(self, team_id: str) -> None:
        with session_scope(self._engine) as session:
            existing = get_workspace(session=session, team_id=team_id)
            if (
                existing is not None
                and existing.seeded_at is not None
                and not (self._reinstalls and existing.uninstalled_at is not None)
            ):
                return
        with session_scope(self._engine, write=True) as session:
            workspace = get_or_create_workspace(session=session, team_id=team_id)
            if self._reinstalls and workspace.uninstalled_at is not None:
                workspace.uninstalled_at = None
                session.add(workspace)
                log.info("workspace %s talks to the bot again: no longer uninstalled", team_id)
            if workspace.seeded_at is not None:
                return
            result = seed_workspace(session=session, team_id=team_id)
            workspace.seeded_at = utcnow()
            session.add(workspace)
            log.info("seeded workspace %s with the bundled calendar: %s", team_id, result)
