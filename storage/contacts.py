"""Contact search: case- and accent-insensitive over name, role, school, municipality."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from storage.folding import like_pattern, search_key
from storage.models import Contact, Municipality, School

# Up to this many matches are read by id; for broader searches (and well before the limits on
# bound parameters) reading the workspace's rows in one pass is quicker.
_MAX_ID_LIST = 1_000


class ContactFields(Protocol):
    """What a search result shows of a contact: a Contact row, or the plain row the in-memory
    directory (storage.snapshot) keeps, which loads far quicker than ORM objects."""

    @property
    def id(self) -> int | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def role(self) -> str: ...
    @property
    def organisation(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def purpose(self) -> str | None: ...
    @property
    def note(self) -> str | None: ...
    @property
    def historical(self) -> bool: ...
    @property
    def slack_user_id(self) -> str | None: ...
    @property
    def school_id(self) -> int | None: ...
    @property
    def municipality_id(self) -> int | None: ...
    @property
    def search_key(self) -> str: ...


@dataclass(frozen=True)
class ContactHit:
    contact: ContactFields
    school: str | None
    municipality: str | None


def contact_search_key(
    contact: Contact, *, school: str | None = None, municipality: str | None = None
) -> str:
    return search_key(
        contact.name,
        contact.role,
        contact.organisation,
        contact.purpose,
        contact.email,
        school,
        municipality,
    )


def save_contact(*, session: Session, contact: Contact) -> Contact:
    """Insert or update a contact, keeping its search key in step with what it links to."""
    school = session.get(School, contact.school_id) if contact.school_id else None
    municipality_id = contact.municipality_id or (school.municipality_id if school else None)
    municipality = session.get(Municipality, municipality_id) if municipality_id else None
    contact.search_key = contact_search_key(
        contact,
        school=school.name if school else None,
        municipality=municipality.name if municipality else None,
    )
    session.add(contact)
    session.flush()
    return contact


def _hits(matched: ColumnElement[bool], limit: int, *extra: Any) -> Any:
    school_muni = aliased(Municipality)
    return (
        select(Contact, School.name, func.coalesce(Municipality.name, school_muni.name), *extra)
        .outerjoin(School, col(School.id) == col(Contact.school_id))
        .outerjoin(Municipality, col(Municipality.id) == col(Contact.municipality_id))
        .outerjoin(school_muni, col(school_muni.id) == col(School.municipality_id))
        .where(matched)
        .order_by(col(Contact.historical), col(Contact.name), col(Contact.organisation))
        .limit(limit)
    )


def search_contacts(
    *, session: Session, team_id: str, query: str, limit: int = 20
) -> tuple[list[ContactHit], int]:
    """Contacts matching every word of `query`; returns (first `limit` hits, total)."""
    conditions = [col(Contact.team_id) == team_id]
    for term in query.split():
        conditions.append(col(Contact.search_key).like(like_pattern(term), escape="\\"))
    # A national workspace has ten thousand contacts; how to search them fast differs by engine.
    if session.get_bind().dialect.name == "sqlite" or limit < 1:
        # SQLite reads every row of the workspace for a search that also sorts, while its index
        # on (team_id, search_key) answers the search alone: find the matches there first, then
        # read and sort only them.
        ids = session.exec(select(col(Contact.id)).where(*conditions)).all()
        if not ids or limit < 1:
            return [], len(ids)
        matched = col(Contact.id).in_(ids) if len(ids) <= _MAX_ID_LIST else and_(*conditions)
        rows = session.exec(_hits(matched, limit)).all()
        return [ContactHit(c, s, m) for c, s, m in rows], len(ids)
    # PostgreSQL plans the single statement well; the window counts every match before LIMIT.
    rows = session.exec(_hits(and_(*conditions), limit, func.count().over())).all()
    return [ContactHit(c, s, m) for c, s, m, _ in rows], int(rows[0][3]) if rows else 0


def known_roles(*, session: Session, team_id: str) -> Sequence[str]:
    stmt = select(Contact.role).where(col(Contact.team_id) == team_id).distinct().order_by("role")
    return session.exec(stmt).all()
