"""Contact search: each word of a search starts a word of a contact's name, role,
organisation, purpose, e-mail, phone, school or municipality, in any case and with or
without Norwegian letters (storage.folding); hits on the letters as typed come first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, case
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from storage.folding import SearchWord, exact_like, search_words, word_key, word_like
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


# What a contact is found by besides its school and municipality, as an import reads it.
KEYED_FIELDS = ("name", "role", "organisation", "email", "phone", "purpose")
_KEY_LIMIT: int = Contact.__table__.c["search_key"].type.length  # type: ignore[attr-defined]


def contact_key(
    fields: Mapping[str, str | None], *, school: str | None, municipality: str | None
) -> str:
    """The search key of a contact's `fields` (KEYED_FIELDS). A key too long for its column
    loses its last words: the purpose, the longest and least searched, goes last."""
    return word_key(
        fields.get("name"),
        fields.get("role"),
        fields.get("organisation"),
        school,
        municipality,
        fields.get("phone"),
        fields.get("email"),
        fields.get("purpose"),
        limit=_KEY_LIMIT,
    )


def contact_search_key(
    contact: Contact, *, school: str | None = None, municipality: str | None = None
) -> str:
    fields = {name: getattr(contact, name) for name in KEYED_FIELDS}
    return contact_key(fields, school=school, municipality=municipality)


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


def _hits(matched: ColumnElement[bool], first: list[Any], limit: int, *extra: Any) -> Any:
    school_muni = aliased(Municipality)
    return (
        select(Contact, School.name, func.coalesce(Municipality.name, school_muni.name), *extra)
        .outerjoin(School, col(School.id) == col(Contact.school_id))
        .outerjoin(Municipality, col(Municipality.id) == col(Contact.municipality_id))
        .outerjoin(school_muni, col(school_muni.id) == col(School.municipality_id))
        .where(matched)
        .order_by(
            *first,
            col(Contact.historical),
            col(Contact.name),
            col(Contact.organisation),
            col(Contact.id),
        )
        .limit(limit)
    )


def _as_typed_first(words: Sequence[SearchWord]) -> list[Any]:
    """The first sort key: 0 for a contact with every word as typed (Ås for «ås»), 1 for one
    found by folding alone (Asker)."""
    if not words:
        return []
    key = col(Contact.search_key)
    exact = and_(*(key.like(exact_like(w), escape="\\") for w in words))
    return [case((exact, 0), else_=1)]


def search_contacts(
    *, session: Session, team_id: str, query: str, limit: int = 20
) -> tuple[list[ContactHit], int]:
    """Contacts matching every word of `query` at a word's start; returns (first `limit` hits,
    total). The in-memory directory (storage.snapshot) answers the same."""
    words = search_words(query)
    if words == []:
        return [], 0  # only punctuation or symbols: nothing to look for
    conditions = [col(Contact.team_id) == team_id]
    for word in words or ():
        conditions.append(col(Contact.search_key).like(word_like(word), escape="\\"))
    first = _as_typed_first(words or ())
    # A national workspace has ten thousand contacts; how to search them fast differs by engine.
    if session.get_bind().dialect.name == "sqlite" or limit < 1:
        # SQLite reads every row of the workspace for a search that also sorts, while its index
        # on (team_id, search_key) answers the search alone: find the matches there first, then
        # read and sort only them.
        ids = session.exec(select(col(Contact.id)).where(*conditions)).all()
        if not ids or limit < 1:
            return [], len(ids)
        matched = col(Contact.id).in_(ids) if len(ids) <= _MAX_ID_LIST else and_(*conditions)
        rows = session.exec(_hits(matched, first, limit)).all()
        return [ContactHit(c, s, m) for c, s, m in rows], len(ids)
    # PostgreSQL plans the single statement well; the window counts every match before LIMIT.
    rows = session.exec(_hits(and_(*conditions), first, limit, func.count().over())).all()
    return [ContactHit(c, s, m) for c, s, m, _ in rows], int(rows[0][3]) if rows else 0


def known_roles(*, session: Session, team_id: str) -> Sequence[str]:
    stmt = select(Contact.role).where(col(Contact.team_id) == team_id).distinct().order_by("role")
    return session.exec(stmt).all()
