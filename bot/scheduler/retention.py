"""The retention rule in the clock process: a workspace that removed the bot has its data
deleted DATA_RETENTION_DAYS later (storage.dataprotection.purge_expired_workspaces).

Checked at most once an hour, from the tick's periodic refresh; every scheduler process may
run it, since each deletion locks the workspace's row and re-checks it first.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine

from storage.dataprotection import purge_expired_workspaces

log = logging.getLogger(__name__)

PURGE_EVERY = timedelta(hours=1)


class RetentionPurge:
    def __init__(self, engine: Engine, retention_days: int, every: timedelta = PURGE_EVERY):
        self.engine = engine
        self.retention_days = retention_days
        self.every = every
        self._last: datetime | None = None

    def run_if_due(self, now: datetime) -> list[str]:
        """Purge now if an hour has passed since the last run (or none ran); the team ids."""
        if self._last is not None and now - self._last < self.every:
            return []
        self._last = now
        try:
            return purge_expired_workspaces(
                engine=self.engine, now=now, retention_days=self.retention_days
            )
        except Exception:
            # The next hour tries again; reminders must not stop for this.
            log.exception("deleting the data of uninstalled workspaces failed")
            return []
