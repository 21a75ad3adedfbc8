"""The end of an installation: nothing more is posted for a workspace that removed the bot."""

from __future__ import annotations

from handlers.core.services import Services
from storage.ics import delete_feed
from storage.outbox import cancel_team
from storage.workspaces import get_or_create_workspace


def stop_workspace(services: Services, team_id: str, reason: str) -> int:
    """Forget the workspace's installation (its tokens), mark it uninstalled, cancel its whole
    outbox and stop its calendar feed; the number of messages cancelled.

    The data stays for DATA_RETENTION_DAYS (docs/operations.md, "Data protection"). With one
    SLACK_BOT_TOKEN a later `/dks påminnelser kanal` or `på` starts it again; with «Add to
    Slack», installing again does.
    """
    if services.installations is not None:
        services.installations.delete_all(enterprise_id=None, team_id=team_id)
    now = services.clock()
    with services.session(write=True) as session:
        workspace = get_or_create_workspace(session=session, team_id=team_id)
        workspace.uninstalled_at = now
        session.add(workspace)
        delete_feed(session=session, team_id=team_id)
        return cancel_team(session=session, team_id=team_id, reason=reason, now=now)
