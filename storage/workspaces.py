"""The per-workspace settings row and the coordinators a workspace lists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models import Coordinator, UserLanguage, Workspace


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
    """Returns False when the user was already listed (also when another request listed them
    at the same moment: an upsert, so that race is not a duplicate key)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(Coordinator)
        .values(team_id=team_id, user_id=user_id, added_by=added_by)
        .on_conflict_do_nothing(index_elements=["team_id", "user_id"])
        .returning(col(Coordinator.user_id))
    )
    return session.execute(statement).first() is not None


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


def set_workspace_language(*, session: Session, team_id: str, language: str) -> None:
    get_or_create_workspace(session=session, team_id=team_id).language = language


def set_user_language(
    *, session: Session, team_id: str, user_id: str, language: str | None
) -> None:
    """A person's own language; None goes back to the workspace's."""
    row = session.get(UserLanguage, (team_id, user_id))
    if language is None:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        session.add(UserLanguage(team_id=team_id, user_id=user_id, language=language))
    else:
        row.language = language


def workspace_language(*, session: Session, team_id: str) -> str | None:
    return session.exec(select(Workspace.language).where(col(Workspace.team_id) == team_id)).first()


def language_choices(
    *, session: Session, team_id: str, user_id: str
) -> tuple[str | None, str | None]:
    """(the workspace's language, the person's own) in one query; None where none is chosen."""
    stmt = (
        select(Workspace.language, UserLanguage.language)
        .select_from(Workspace)
        .outerjoin(
            UserLanguage,
            (col(UserLanguage.team_id) == col(Workspace.team_id))
            & (col(UserLanguage.user_id) == user_id),
        )
        .where(col(Workspace.team_id) == team_id)
    )
    row = session.exec(stmt).first()
    if row is None:  # no settings row yet: only the person's own can exist
        own = session.get(UserLanguage, (team_id, user_id))
        return None, own.language if own else None
    return row[0], row[1]


def user_languages(*, session: Session, team_id: str) -> dict[str, str]:
    rows = session.exec(
        select(UserLanguage.user_id, UserLanguage.language).where(
            col(UserLanguage.team_id) == team_id
        )
    ).all()
    return dict(rows)
