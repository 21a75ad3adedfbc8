"""Each workspace gets the bundled DKS calendar the first time it talks to the bot."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from storage import replay
from storage.db import session_scope
from storage.importers.calendar import seed_workspace
from storage.models import utcnow
from storage.workspaces import get_or_create_workspace, get_workspace

log = logging.getLogger(__name__)


class WorkspaceSeeder:
    """Seeds once per workspace and process; a workspace seeded elsewhere is left as it is."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def ensure(self, team_id: str) -> None:
        if not team_id or team_id in self._seen:
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
            if existing is not None and existing.seeded_at is not None:
                return
        with session_scope(self._engine, write=True) as session:
            workspace = get_or_create_workspace(session=session, team_id=team_id)
            if workspace.seeded_at is not None:
                return
            result = seed_workspace(session=session, team_id=team_id)
            workspace.seeded_at = utcnow()
            session.add(workspace)
            log.info("seeded workspace %s with the bundled calendar: %s", team_id, result)
