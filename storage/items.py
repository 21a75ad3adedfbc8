"""Create, change and delete a workspace's deadlines, meetings, contacts and schools.

Every write keeps the row's folded search key in step (a renamed school re-keys its contacts)
and records an audit entry in the same transaction. Reads of the undated items and the
schools without a kulturkontakt live here too, for commands that must see the database
itself; the Home tab reads the same from memory (storage.snapshot).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, TypeVar, cast

from sqlalchemy import exists, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from storage import audit
from storage import reminders as reminder_store
from storage.contacts import contact_search_key, save_contact
from storage.folding import fold, search_key
from storage.models import Contact, Deadline, Meeting, Municipality, School

Kind = Literal["deadline", "meeting", "contact", "school"]
KINDS: tuple[Kind, ...] = ("deadline", "meeting", "contact", "school")
KULTURKONTAKT = "kulturkontakt"

Item = TypeVar("Item", Deadline, Meeting)


class ItemNotFound(LookupError):
    """The row does not exist in this workspace (deleted meanwhile, or a crafted id)."""


class ItemInUse(Exception):
    """Other data still points at the row (e.g. performances at a school)."""


# --- Search keys ----------------------------------------------------------------------------------


def _limit(model: type[SQLModel], column: str) -> int:
    length = getattr(model.__table__.c[column].type, "length", None)  # type: ignore[attr-defined]
    assert isinstance(length, int)
    return length


def deadline_search_key(row: Deadline) -> str:
    return search_key(row.title, row.description, row.audience)[: _limit(Deadline, "search_key")]


def meeting_search_key(row: Meeting) -> str:
    key = search_key(row.title, row.description, row.audience, row.kind, row.place)
    return key[: _limit(Meeting, "search_key")]


# --- What each kind can change --------------------------------------------------------------------

_CALENDAR_FIELDS = (
    "title",
    "description",
    "link",
    "audience",
    "precision",
    "date_note",
    "rrule",
    "confirmed_until",
    "reminder_offsets_days",
    "end_date",
)
DEADLINE_FIELDS = (*_CALENDAR_FIELDS, "due_date", "due_time")
MEETING_FIELDS = (
    *_CALENDAR_FIELDS,
    "kind",
    "start_date",
    "start_time",
    "end_time",
    "place",
    "form",
)
CONTACT_FIELDS = (
    "name",
    "role",
    "organisation",
    "email",
    "phone",
    "purpose",
    "note",
    "historical",
    "slack_user_id",
    "school_id",
    "municipality_id",
)
SCHOOL_FIELDS = ("name", "municipality_id")


@dataclass(frozen=True)
class _Spec:
    model: type[SQLModel]
    fields: tuple[str, ...]
    label: Callable[[Any], str]


def _contact_label(row: Contact) -> str:
    return row.name or row.organisation or row.email or row.role


_SPECS: dict[str, _Spec] = {
    "deadline": _Spec(Deadline, DEADLINE_FIELDS, lambda row: row.title),
    "meeting": _Spec(Meeting, MEETING_FIELDS, lambda row: row.title),
    "contact": _Spec(Contact, CONTACT_FIELDS, _contact_label),
    "school": _Spec(School, SCHOOL_FIELDS, lambda row: row.name),
}


def label_of(kind: Kind, row: Any) -> str:
    return _SPECS[kind].label(row)


def get_item(*, session: Session, kind: Kind, team_id: str, item_id: int) -> Any | None:
    """The row if it exists in this workspace; a row of another workspace is None."""
    row = session.get(_SPECS[kind].model, item_id)
    if row is None or getattr(row, "team_id", None) != team_id:
        return None
    return row


def _rekey(session: Session, kind: Kind, row: Any) -> None:
    if kind == "deadline":
        row.search_key = deadline_search_key(row)
    elif kind == "meeting":
        row.search_key = meeting_search_key(row)
    elif kind == "contact":
        save_contact(session=session, contact=row)
        return
    session.add(row)
    session.flush()


def _rekey_contacts_of_school(session: Session, school: School) -> None:
    municipality = (
        session.get(Municipality, school.municipality_id) if school.municipality_id else None
    )
    limit = _limit(Contact, "search_key")
    for contact in session.exec(select(Contact).where(col(Contact.school_id) == school.id)):
        own = (
            session.get(Municipality, contact.municipality_id) if contact.municipality_id else None
        )
        place = own or municipality
        contact.search_key = contact_search_key(
            contact, school=school.name, municipality=place.name if place else None
        )[:limit]
        session.add(contact)


@dataclass(frozen=True)
class SaveResult:
    row: Any
    created: bool
    changes: dict[str, list[Any]]


def save_item(
    *,
    session: Session,
    kind: Kind,
    team_id: str,
    item_id: int | None,
    values: Mapping[str, Any],
    user_id: str | None,
    source: str = "slack",
    at: datetime | None = None,
) -> SaveResult:
    """Create (`item_id` None) or update one row with `values`, audited.

    Fields not in `values` are left as they are. Raises ItemNotFound for an id that is not
    this workspace's, ValueError for a field the kind does not have.
    """
    spec = _SPECS[kind]
    unknown = set(values) - set(spec.fields)
    if unknown:
        raise ValueError(f"{kind} has no editable field(s) {sorted(unknown)}")
    if item_id is None:
        row = spec.model(team_id=team_id, **values)
        _rekey(session, kind, row)
        audit.record(
            session=session,
            team_id=team_id,
            user_id=user_id,
            action="create",
            item_kind=kind,
            item_id=row.id,  # type: ignore[attr-defined]
            summary=spec.label(row),
            changes=audit.diff({}, values),
            source=source,
            at=at,
        )
        session.flush()
        return SaveResult(row, True, audit.diff({}, values))
    found = get_item(session=session, kind=kind, team_id=team_id, item_id=item_id)
    if found is None:
        raise ItemNotFound(f"{kind} {item_id}")
    row = found
    before = {name: getattr(row, name) for name in values}
    changes = audit.diff(before, values)
    if changes:
        for name, value in values.items():
            setattr(row, name, value)
        _rekey(session, kind, row)
        if kind == "school":
            _rekey_contacts_of_school(session, row)
        audit.record(
            session=session,
            team_id=team_id,
            user_id=user_id,
            action="update",
            item_kind=kind,
            item_id=item_id,
            summary=spec.label(row),
            changes=changes,
            source=source,
            at=at,
        )
        session.flush()
    return SaveResult(row, False, changes)


def delete_item(
    *,
    session: Session,
    kind: Kind,
    team_id: str,
    item_id: int,
    user_id: str | None,
    source: str = "slack",
    at: datetime | None = None,
) -> str:
    """Delete one row, audited; returns its label. A school's contacts stay, without the
    school (they keep its municipality). Raises ItemNotFound, or ItemInUse when other data
    (such as performances) still points at it."""
    spec = _SPECS[kind]
    row = get_item(session=session, kind=kind, team_id=team_id, item_id=item_id)
    if row is None:
        raise ItemNotFound(f"{kind} {item_id}")
    label = spec.label(row)
    snapshot = {name: getattr(row, name) for name in spec.fields}
    try:
        with session.begin_nested():
            if kind == "deadline":
                reminder_store.forget_item(
                    session=session, team_id=team_id, kind="deadline", item_id=item_id
                )
            if kind == "school":
                contacts = list(
                    session.exec(select(Contact).where(col(Contact.school_id) == item_id))
                )
                for contact in contacts:
                    contact.school_id = None
                    contact.municipality_id = contact.municipality_id or row.municipality_id
                    session.add(contact)
                session.flush()
                for contact in contacts:
                    save_contact(session=session, contact=contact)
            session.delete(row)
            session.flush()
    except IntegrityError as err:
        raise ItemInUse(f"{kind} {item_id} is still referenced") from err
    audit.record(
        session=session,
        team_id=team_id,
        user_id=user_id,
        action="delete",
        item_kind=kind,
        item_id=item_id,
        summary=label,
        changes=audit.diff({}, snapshot),
        source=source,
        at=at,
    )
    session.flush()
    return label


# --- Done marks -----------------------------------------------------------------------------------


def mark_deadline_done(
    *,
    session: Session,
    team_id: str,
    deadline_id: int,
    occurrence: date,
    user_id: str,
    at: datetime,
) -> bool:
    """Mark one occurrence done for the whole workspace (its queued reminders are cancelled),
    audited; False if it already was done. The same as «Ferdig» on a reminder: both go
    through storage.reminders.mark_done, which writes the audit entry."""
    row = get_item(session=session, kind="deadline", team_id=team_id, item_id=deadline_id)
    if row is None:
        raise ItemNotFound(f"deadline {deadline_id}")
    _, created = reminder_store.mark_done(
        session=session,
        team_id=team_id,
        deadline_id=deadline_id,
        occurrence=occurrence,
        user_id=user_id,
        now=at,
    )
    return created


# --- Undated items and schools without a kulturkontakt --------------------------------------------


def _date_col(model: type[Item]) -> Any:
    return col(Deadline.due_date) if model is Deadline else col(Meeting.start_date)


def undated_items(
    *, session: Session, model: type[Item], team_id: str, limit: int
) -> tuple[list[Item], int]:
    """Items known to happen that have no date yet, and how many there are."""
    where = [col(model.team_id) == team_id, _date_col(model).is_(None)]
    if limit <= 0:
        return [], int(session.exec(select(func.count()).select_from(model).where(*where)).one())
    # One query: the window count is taken over every match, before the limit.
    stmt = (
        select(model, func.count().over())
        .where(*where)
        .order_by(col(model.title), col(model.id))
        .limit(limit)
    )
    found = list(session.exec(stmt))
    return [row for row, _ in found], int(found[0][1]) if found else 0


def _has_kulturkontakt() -> Any:
    return exists().where(
        col(Contact.school_id) == col(School.id),
        col(Contact.role) == KULTURKONTAKT,
        col(Contact.historical).is_(False),
    )


def schools_without_kulturkontakt(
    *, session: Session, team_id: str, limit: int
) -> tuple[list[tuple[School, str | None]], int]:
    """Schools where nobody current has the role «kulturkontakt» (the county requires one
    at every school), with their municipality's name, and how many there are."""
    covered = (
        select(Contact.school_id)
        .where(
            col(Contact.team_id) == team_id,
            col(Contact.school_id).is_not(None),
            col(Contact.role) == KULTURKONTAKT,
            col(Contact.historical).is_(False),
        )
        .distinct()
    )
    where = [col(School.team_id) == team_id, col(School.id).not_in(covered)]
    if limit <= 0:
        return [], int(session.exec(select(func.count()).select_from(School).where(*where)).one())
    stmt = (
        select(School, Municipality.name, func.count().over())
        .outerjoin(Municipality, col(Municipality.id) == col(School.municipality_id))
        .where(*where)
        .order_by(col(Municipality.name), col(School.name), col(School.id))
        .limit(limit)
    )
    found = list(session.exec(stmt))
    return [(school, muni) for school, muni, _ in found], int(found[0][2]) if found else 0


def count_schools(*, session: Session, team_id: str) -> int:
    stmt = select(func.count()).select_from(School).where(col(School.team_id) == team_id)
    return int(session.exec(stmt).one())


@dataclass(frozen=True)
class SchoolLine:
    school: School
    municipality: str | None
    kulturkontakter: list[Contact]


def school_overview(
    *, session: Session, team_id: str, offset: int, limit: int
) -> tuple[list[SchoolLine], int]:
    """Schools with their kulturkontakter, those without one first, then by municipality and
    name; one page of them and the total."""
    missing = ~_has_kulturkontakt()
    stmt = (
        select(School, Municipality.name)
        .outerjoin(Municipality, col(Municipality.id) == col(School.municipality_id))
        .where(col(School.team_id) == team_id)
        .order_by(missing.desc(), col(Municipality.name), col(School.name), col(School.id))
        .offset(offset)
        .limit(limit)
    )
    page = list(session.exec(stmt))
    total = count_schools(session=session, team_id=team_id)
    ids = [school.id for school, _ in page]
    contacts: dict[int, list[Contact]] = {}
    if ids:
        for contact in session.exec(
            select(Contact)
            .where(
                col(Contact.school_id).in_(ids),
                col(Contact.role) == KULTURKONTAKT,
                col(Contact.historical).is_(False),
            )
            .order_by(col(Contact.name))
        ):
            contacts.setdefault(cast(int, contact.school_id), []).append(contact)
    lines = [SchoolLine(s, m, contacts.get(cast(int, s.id), [])) for s, m in page]
    return lines, total


# --- Look-ups for type-ahead menus ----------------------------------------------------------------


def search_schools(
    *, session: Session, team_id: str, query: str, limit: int
) -> list[tuple[School, str | None]]:
    """Schools whose name or municipality matches every word of `query` (folded)."""
    stmt = (
        select(School, Municipality.name)
        .outerjoin(Municipality, col(Municipality.id) == col(School.municipality_id))
        .where(col(School.team_id) == team_id)
        .order_by(col(School.name), col(Municipality.name))
    )
    terms = fold(query).split()
    hits: list[tuple[School, str | None]] = []
    # Folding happens in Python: a workspace has at most a few thousand schools, and SQL's
    # lower() knows neither «ø» = «o» nor «aa» = «å».
    for school, muni in session.exec(stmt):
        text = fold(f"{school.name} {muni or ''}")
        if all(term in text for term in terms):
            hits.append((school, muni))
            if len(hits) >= limit:
                break
    return hits


def search_municipalities(
    *, session: Session, team_id: str, query: str, limit: int
) -> list[Municipality]:
    stmt = (
        select(Municipality)
        .where(col(Municipality.team_id) == team_id)
        .order_by(col(Municipality.name))
    )
    terms = fold(query).split()
    hits: list[Municipality] = []
    for muni in session.exec(stmt):
        text = fold(f"{muni.name} {muni.county or ''}")
        if all(term in text for term in terms):
            hits.append(muni)
            if len(hits) >= limit:
                break
    return hits


def school_label(*, session: Session, school: School) -> str:
    muni = session.get(Municipality, school.municipality_id) if school.municipality_id else None
    return f"{school.name} ({muni.name})" if muni else school.name


def ids_by_external_key(
    *, session: Session, model: type[Item], team_id: str, keys: Sequence[str]
) -> list[int]:
    """Row ids of the workspace's items with these import keys («id» in a calendar file)."""
    if not keys:
        return []
    stmt = select(col(model.id)).where(
        col(model.team_id) == team_id, col(model.external_key).in_(list(keys))
    )
    return [int(i) for i in session.exec(stmt) if i is not None]


def find_school(
    *,
    session: Session,
    team_id: str,
    name: str,
    municipality_id: int | None,
    other_than: int | None = None,
) -> School | None:
    """A school of this name (folded) in this municipality, other than `other_than`."""
    stmt = select(School).where(
        col(School.team_id) == team_id, col(School.municipality_id) == municipality_id
    )
    if municipality_id is None:
        stmt = select(School).where(
            col(School.team_id) == team_id, col(School.municipality_id).is_(None)
        )
    key = fold(name)
    for school in session.exec(stmt):
        if fold(school.name) == key and school.id != other_than:
            return school
    return None
