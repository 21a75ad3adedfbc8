"""The audit trail: who changed what in a workspace, and when.

Entries are written in the same transaction as the change they describe, so a change that
rolls back leaves no entry and no entry exists without its change. Anonymous feedback is
never audited (its whole point is that nobody can tell who answered).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import Enum
from typing import Any

from sqlmodel import Session, col, select

from storage.models import AuditEntry, utcnow

SUMMARY_LIMIT = 300


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a column value (dates as ISO text, enums as their value)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for every field whose value differs."""
    return {
        name: [_plain(before.get(name)), _plain(value)]
        for name, value in after.items()
        if _plain(before.get(name)) != _plain(value)
    }


def record(
    *,
    session: Session,
    team_id: str,
    user_id: str | None,
    action: str,
    item_kind: str,
    item_id: int | None = None,
    summary: str = "",
    changes: Mapping[str, Any] | None = None,
    source: str = "slack",
    at: datetime | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        team_id=team_id,
        user_id=user_id,
        action=action,
        item_kind=item_kind,
        item_id=item_id,
        summary=summary[:SUMMARY_LIMIT],
        changes=json.dumps({k: _plain(v) for k, v in changes.items()}, ensure_ascii=False)
        if changes
        else None,
        source=source,
        at=(at or utcnow()).astimezone(UTC),
    )
    session.add(entry)
    return entry


def record_many(*, session: Session, entries: Sequence[AuditEntry]) -> None:
    """Bulk form for imports, which may touch thousands of rows at once."""
    session.add_all(entries)


@dataclass(frozen=True)
class LastChange:
    user_id: str | None
    source: str
    action: str
    at: datetime  # aware, UTC


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything here was stored as UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def last_change(
    *, session: Session, team_id: str, item_kind: str, item_id: int
) -> LastChange | None:
    """The latest entry about one item, for «sist endret av … den …»."""
    stmt = (
        select(AuditEntry)
        .where(
            col(AuditEntry.team_id) == team_id,
            col(AuditEntry.item_kind) == item_kind,
            col(AuditEntry.item_id) == item_id,
        )
        # Ids grow with every write; `at` may come from an injected clock.
        .order_by(col(AuditEntry.id).desc())
        .limit(1)
    )
    entry = session.exec(stmt).first()
    if entry is None:
        return None
    return LastChange(entry.user_id, entry.source, entry.action, _aware(entry.at))


def entries_for(
    *, session: Session, team_id: str, item_kind: str | None = None, item_id: int | None = None
) -> list[AuditEntry]:
    """A workspace's entries (optionally about one kind or item), oldest first."""
    stmt = select(AuditEntry).where(col(AuditEntry.team_id) == team_id)
    if item_kind is not None:
        stmt = stmt.where(col(AuditEntry.item_kind) == item_kind)
    if item_id is not None:
        stmt = stmt.where(col(AuditEntry.item_id) == item_id)
    rows = list(session.exec(stmt.order_by(col(AuditEntry.id))))
    for row in rows:
        row.at = _aware(row.at)
    return rows


def changes_of(entry: AuditEntry) -> dict[str, Any]:
    return json.loads(entry.changes) if entry.changes else {}
