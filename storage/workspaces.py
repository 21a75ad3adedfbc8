"""The per-workspace settings row and the coordinators a workspace lists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlmodel import Session, col, select

from storage.models import Coordinator, Workspace


def get_workspace(*, session: Session, team_id: str) -> Workspace | None:
    return session.get(Workspace, team_id)


def get_workspaces(*, session: Session, team_ids: Iterable[str]) -> dict[str, Workspace]:
    """Several workspaces in one query, by team id (absent ones are left out)."""
    wanted = sorted(set(team_ids))
    if not wanted:
        return {}
    found = session.exec(select(Workspace).where(col(Workspace.team_id).in_(wanted)))
    return {w.team_id: w for w in found}


def get_or_create_workspace(*, session: Session, team_id: str) -> Workspace:
    workspace = session.get(Workspace, team_id)
    if workspace is None:
        workspace = Workspace(team_id=team_id)
        session.add(workspace)
        session.flush()
    return workspace


def listed_coordinators(*, session: Session, team_id: str) -> Sequence[str]:
    stmt = select(Coordinator.user_id).where(col(Coordinator.team_id) == team_id)
    return session.exec(stmt).all()


def is_listed_coordinator(*, session: Session, team_id: str, user_id: str) -> bool:
    return session.get(Coordinator, (team_id, user_id)) is not None


def add_coordinator(
    *, session: Session, team_id: str, user_id: str, added_by: str | None = None
) -> bool:
    """Returns False when the user was already listed."""
    if session.get(Coordinator, (team_id, user_id)) is not None:
        return False
    session.add(Coordinator(team_id=team_id, user_id=user_id, added_by=added_by))
    session.flush()
    return True


def remove_coordinator(*, session: Session, team_id: str, user_id: str) -> bool:
    row = session.get(Coordinator, (team_id, user_id))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def mark_installed(*, session: Session, team_id: str) -> Workspace:
    """An installation (or a reinstall) through «Add to Slack»: the workspace exists, and a
    deletion pending after an earlier uninstall is called off."""
    workspace = get_or_create_workspace(session=session, team_id=team_id)
    workspace.uninstalled_at = None
    session.add(workspace)
    return workspace
