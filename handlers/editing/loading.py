"""What the editing modals show, read from storage: an item's form filled in, its delete
confirmation, a page of the school list. Each returns a view ready to open; an item that is
gone gives a notice saying so."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.views import View
from sqlmodel import Session

from handlers.core.blocks import notice_modal
from handlers.core.i18n import _
from handlers.core.services import Services
from handlers.editing.fields import KINDS, ModalMeta
from handlers.editing.forms import calendar_modal, contact_modal, delete_modal, school_modal
from handlers.editing.views import (
    FROM_THE_CALENDAR,
    SCHOOLS_PAGE,
    SchoolEntry,
    gone_text,
    last_changed_text,
    schools_modal,
)
from storage import audit
from storage.items import (
    Kind,
    get_item,
    label_of,
    school_label,
    school_overview,
    schools_without_kulturkontakt,
)
from storage.models import Municipality


def item_kind(value: str) -> Kind:
    if value not in KINDS:
        raise ValueError(value)
    return value  # type: ignore[return-value]


def _municipality(session: Session, muni_id: int | None, team_id: str) -> tuple[int, str] | None:
    if not muni_id:
        return None
    muni = session.get(Municipality, muni_id)
    if muni is None or muni.team_id != team_id:
        return None
    return muni_id, muni.name


def _footer(
    services: Services, session: Session, team_id: str, meta: ModalMeta, row: Any
) -> str | None:
    assert meta.item_id is not None
    change = audit.last_change(
        session=session, team_id=team_id, item_kind=meta.kind, item_id=meta.item_id
    )
    footer = last_changed_text(change, services.settings.timezone)
    if footer is None and getattr(row, "external_key", None):
        return _(FROM_THE_CALENDAR)
    return footer


def _form(
    session: Session,
    team_id: str,
    meta: ModalMeta,
    row: Any,
    role: str | None,
    footer: str | None,
    name: str | None,
) -> View:
    kind = item_kind(meta.kind)
    if kind == "deadline" or kind == "meeting":
        return calendar_modal(kind, row, meta=meta, footer=footer, title=name)
    muni = _municipality(session, row.municipality_id if row else None, team_id)
    if kind == "school":
        return school_modal(row, meta=meta, municipality=muni, footer=footer, name=name)
    school_id = row.school_id if row else meta.school_id
    school = None
    if school_id:
        found = get_item(session=session, kind="school", team_id=team_id, item_id=school_id)
        if found is not None:
            school = (school_id, school_label(session=session, school=found))
    return contact_modal(
        row, meta=meta, school=school, municipality=muni, role=role, footer=footer, name=name
    )


def build_modal(
    services: Services,
    *,
    team_id: str,
    meta: ModalMeta,
    role: str | None = None,
    name: str | None = None,
) -> View:
    """The edit (or create) form for `meta`, or a notice when the item no longer exists.

    `role` prefills a new contact's role (a kulturkontakt added from the school list); `name`
    a new item's title or name (typed after `/dks ny frist`)."""
    with services.session() as session:
        row: Any = None
        footer = None
        if meta.item_id is not None:
            kind = item_kind(meta.kind)
            row = get_item(session=session, kind=kind, team_id=team_id, item_id=meta.item_id)
            if row is None:
                return notice_modal(gone_text(meta.kind))
            footer = _footer(services, session, team_id, meta, row)
        return _form(session, team_id, meta, row, role, footer, name)


def build_delete(services: Services, *, team_id: str, meta: ModalMeta) -> View:
    assert meta.item_id is not None
    kind = item_kind(meta.kind)
    with services.session() as session:
        row = get_item(session=session, kind=kind, team_id=team_id, item_id=meta.item_id)
        if row is None:
            return notice_modal(gone_text(meta.kind))
        return delete_modal(meta=meta, label=label_of(kind, row))


def build_schools(services: Services, *, team_id: str, offset: int, coordinator: bool) -> View:
    with services.session() as session:
        lines, total = school_overview(
            session=session, team_id=team_id, offset=offset, limit=SCHOOLS_PAGE
        )
        _listed, missing = schools_without_kulturkontakt(session=session, team_id=team_id, limit=0)
    entries = [
        SchoolEntry(
            school_id=line.school.id or 0,
            name=line.school.name,
            municipality=line.municipality,
            kulturkontakter=[c.name or c.email or c.phone or c.role for c in line.kulturkontakter],
        )
        for line in lines
    ]
    return schools_modal(
        entries=entries,
        offset=offset,
        total=total,
        missing=missing,
        page_size=SCHOOLS_PAGE,
        coordinator=coordinator,
    )
