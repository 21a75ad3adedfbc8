"""Storing what a coordinator did in a form or a menu, and telling the other features.

`save` and `delete` run before the ack: a field error, or «finnes ikke lenger», travels in
the answer to Slack, and nothing is stored halfway (validation, the write and its audit entry
share one transaction). `announce` runs after the ack, in a lazy listener: it refreshes the
school list a form was pushed from and publishes `Changed`, on which reminders re-plan and
the Home tab is republished.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from handlers.core.access import Actor
from handlers.core.feature import Changed
from handlers.core.i18n import _
from handlers.core.services import Services
from handlers.core.values import MAX_LIST_OFFSET, whole_number
from handlers.editing.fields import Form, ModalMeta
from handlers.editing.forms import (
    MUNICIPALITY_BLOCK,
    SCHOOL_BLOCK,
    TITLE_BLOCK,
    CalendarKind,
    parse_calendar_form,
    parse_contact_form,
    parse_school_form,
    unconfirmed_past,
)
from handlers.editing.loading import build_schools, item_kind
from handlers.editing.views import SCHOOL_IN_USE, gone_text
from storage.items import (
    ItemInUse,
    ItemNotFound,
    Kind,
    delete_item,
    find_school,
    get_item,
    mark_deadline_done,
    save_item,
)
from storage.models import Municipality

# Where the ack function leaves what it stored for the lazy listener (Bolt copies the
# context to it once the ack function has returned).
SAVED = "editing_saved"


@dataclass(frozen=True)
class PastDate:
    """Nothing stored: the form's dates are past, and the coordinator is asked if they are
    right (forms.confirm_past_view)."""

    kind: CalendarKind
    start: date
    end: date | None


@dataclass(frozen=True)
class Saved:
    kind: str
    item_id: int
    # The modal's `back` and the view it was pushed over: a school list to refresh.
    back: str | None = None
    previous_view_id: str | None = None


def _check_places(session: Session, form: Form, team_id: str) -> None:
    school_id = form.values.get("school_id")
    if school_id is not None and (
        get_item(session=session, kind="school", team_id=team_id, item_id=school_id) is None
    ):
        form.errors[SCHOOL_BLOCK] = _("Velg en skole fra lista.")
    muni_id = form.values.get("municipality_id")
    if muni_id is not None:
        muni = session.get(Municipality, muni_id)
        if muni is None or muni.team_id != team_id:
            form.errors[MUNICIPALITY_BLOCK] = _("Velg en kommune fra lista.")


def _parse(
    session: Session, view: dict[str, Any], kind: Kind, team_id: str, meta: ModalMeta, row: Any
) -> Form:
    if kind == "deadline" or kind == "meeting":
        return parse_calendar_form(kind, view, row)
    form = parse_contact_form(view) if kind == "contact" else parse_school_form(view)
    _check_places(session, form, team_id)
    if kind == "school" and not form.errors:
        taken = find_school(
            session=session,
            team_id=team_id,
            name=form.values["name"],
            municipality_id=form.values["municipality_id"],
            other_than=meta.item_id,
        )
        if taken:
            form.errors[TITLE_BLOCK] = _("Det finnes allerede en skole med det navnet her.")
    return form


def save(
    services: Services, view: dict[str, Any], *, actor: Actor, meta: ModalMeta
) -> int | dict[str, str] | PastDate | None:
    """Validate and store: the row id, field errors for the ack, a past date to ask about
    first, or None if the row is gone."""
    kind = item_kind(meta.kind)
    team_id = actor.team_id
    with services.session(write=True) as session:
        row: Any = None
        if meta.item_id is not None:
            row = get_item(session=session, kind=kind, team_id=team_id, item_id=meta.item_id)
            if row is None:
                return None
        form = _parse(session, view, kind, team_id, meta, row)
        if form.errors:
            return form.errors
        if kind == "deadline" or kind == "meeting":
            past = unconfirmed_past(
                kind, form.values, row, today=services.today(), confirmed=meta.past
            )
            if past is not None:
                return PastDate(kind, *past)
        try:
            result = save_item(
                session=session,
                kind=kind,
                team_id=team_id,
                item_id=meta.item_id,
                values=form.values,
                user_id=actor.user_id,
                at=services.clock(),
            )
        except ItemNotFound:
            return None
        return int(result.row.id)


def delete(services: Services, *, actor: Actor, meta: ModalMeta) -> str | None:
    """Delete the item: None when done, or the notice saying why not."""
    assert meta.item_id is not None
    try:
        with services.session(write=True) as session:
            delete_item(
                session=session,
                kind=item_kind(meta.kind),
                team_id=actor.team_id,
                item_id=meta.item_id,
                user_id=actor.user_id,
                at=services.clock(),
            )
    except ItemNotFound:
        return gone_text(meta.kind)
    except ItemInUse:
        return _(SCHOOL_IN_USE)
    return None


def mark_done(services: Services, *, actor: Actor, deadline_id: int, occurrence: date) -> bool:
    """Mark one occurrence of a deadline done; False when the deadline is gone."""
    try:
        with services.session(write=True) as session:
            mark_deadline_done(
                session=session,
                team_id=actor.team_id,
                deadline_id=deadline_id,
                occurrence=occurrence,
                user_id=actor.user_id,
                at=services.clock(),
            )
    except ItemNotFound:
        return False
    return True


def announce(
    saved: Saved,
    *,
    actor: Actor,
    client: WebClient,
    services: Services,
    logger: logging.Logger,
) -> None:
    """After the ack: refresh the school list under the form, and publish the change."""
    back = saved.back or ""
    if back.startswith("schools:") and saved.previous_view_id:
        offset = back.split(":", 1)[1]
        view = build_schools(
            services,
            team_id=actor.team_id,
            offset=whole_number(offset, at_most=MAX_LIST_OFFSET) or 0,
            coordinator=True,
        )
        try:
            client.views_update(view_id=saved.previous_view_id, view=view)
        except SlackApiError as err:
            logger.info("could not refresh the school list: %s", err.response.get("error"))
    services.events.publish(
        Changed(actor.team_id, actor.user_id, ((item_kind(saved.kind), saved.item_id),)),
        client=client,
        services=services,
        logger=logger,
    )
