"""Contact search: case- and accent-insensitive over name, role, school, municipality."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from storage.folding import like_pattern, search_key
from storage.models import Contact, Municipality, School


@dataclass(frozen=True)
class ContactHit:
    contact: Contact
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


def search_contacts(
    *, session: Session, team_id: str, query: str, limit: int = 20
) -> tuple[list[ContactHit], int]:
    """Contacts matching every word of `query`; returns (first `limit` hits, total)."""
    school_muni = aliased(Municipality)
    conditions = [col(Contact.team_id) == team_id]
    for term in query.split():
        conditions.append(col(Contact.search_key).like(like_pattern(term), escape="\\"))
    total = session.exec(select(func.count()).select_from(Contact).where(*conditions)).one()
    stmt = (
        select(Contact, School.name, func.coalesce(Municipality.name, school_muni.name))
        .outerjoin(School, col(School.id) == col(Contact.school_id))
        .outerjoin(Municipality, col(Municipality.id) == col(Contact.municipality_id))
        .outerjoin(school_muni, col(school_muni.id) == col(School.municipality_id))
        .where(*conditions)
        .order_by(col(Contact.historical), col(Contact.name), col(Contact.organisation))
        .limit(limit)
    )
    hits = [ContactHit(c, s, m) for c, s, m in session.exec(stmt)]
    return hits, int(total)


def known_roles(*, session: Session, team_id: str) -> Sequence[str]:
    stmt = select(Contact.role).where(col(Contact.team_id) == team_id).distinct().order_by("role")
    return session.exec(stmt).all()
