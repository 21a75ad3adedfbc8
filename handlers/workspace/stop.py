"""The end of an installation: nothing more is posted for a workspace that removed the bot."""

from __future__ import annotations

from handlers.core.services import Services
from storage.outbox import cancel_team
from storage.workspaces import get_or_create_workspace


def stop_workspace(services: Services, team_id: str, reason: str) -> int:
    """Mark the workspace uninstalled and cancel its whole outbox; the number cancelled.

    A later `/dks påminnelser kanal` or `på` from the workspace starts it again.
    """
    now = services.clock()
    with services.session(write=True) as session:
        workspace = get_or_create_workspace(session=session, team_id=team_id)
        workspace.uninstalled_at = now
        session.add(workspace)
        return cancel_team(session=session, team_id=team_id, reason=reason, now=now)
