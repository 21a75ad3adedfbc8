"""Small builders for test data and checks shared by the test modules."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_sdk.models.blocks import Block
from sqlalchemy import Engine

from storage.contacts import save_contact
from storage.db import session_scope
from storage.folding import search_key
from storage.models import Contact, Deadline, Meeting, Municipality, School, Workspace, utcnow


def seeded_workspace(engine: Engine, team_id: str) -> None:
    """Mark a workspace as already seeded, so a test controls exactly what it holds."""
    with session_scope(engine, write=True) as session:
        session.merge(Workspace(team_id=team_id, seeded_at=utcnow()))


def add_deadline(engine: Engine, team_id: str, title: str, due: date | None, **fields: Any) -> int:
    with session_scope(engine, write=True) as session:
        row = Deadline(team_id=team_id, title=title, due_date=due, **fields)
        row.search_key = search_key(row.title, row.description, row.audience)
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def add_meeting(engine: Engine, team_id: str, title: str, start: date | None, **fields: Any) -> int:
    with session_scope(engine, write=True) as session:
        row = Meeting(team_id=team_id, title=title, start_date=start, **fields)
        row.search_key = search_key(row.title, row.description, row.audience, row.kind, row.place)
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def add_contact(
    engine: Engine,
    team_id: str,
    *,
    school: str | None = None,
    municipality: str | None = None,
    **fields: Any,
) -> int:
    with session_scope(engine, write=True) as session:
        muni_id = school_id = None
        if municipality:
            muni = Municipality(team_id=team_id, name=municipality)
            session.add(muni)
            session.flush()
            muni_id = muni.id
        if school:
            sch = School(team_id=team_id, name=school, municipality_id=muni_id)
            session.add(sch)
            session.flush()
            school_id = sch.id
        contact = Contact(
            team_id=team_id,
            school_id=school_id,
            municipality_id=None if school_id else muni_id,
            **fields,
        )
        save_contact(session=session, contact=contact)
        assert contact.id is not None
        return contact.id


def assert_valid_message(message: dict[str, Any]) -> None:
    """What Slack would accept: a text fallback and at most 50 blocks that validate."""
    assert message.get("text"), "a message needs a text fallback for notifications"
    blocks = message.get("blocks", [])
    assert len(blocks) <= 50
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()


def visible_text(message: dict[str, Any]) -> str:
    """All text a user would read in a message's blocks, joined."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and "text" in node:
                parts.append(str(node["text"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("blocks", []))
    return "\n".join(parts)
