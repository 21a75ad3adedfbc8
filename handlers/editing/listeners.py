"""Bolt listeners for editing: the Home tab's buttons, item menus and contact picker, the
school list, the type-aheads in the forms, and the forms' submissions.

Who may use them is declared where they are wired (`coordinator_only` in __init__.py); nothing
here checks the role again. Bolt passes context entries by name: `services` and `actor` come
from the app's global middleware. A click only acks; the read and the views.open run in the
lazy listener. A submission validates and stores before its ack (field errors travel in it)
and leaves what it stored in the context for `announce_saved`.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from slack_sdk.models.views import View

from handlers.core.access import Actor, is_coordinator
from handlers.core.blocks import notice_modal
from handlers.core.i18n import _
from handlers.core.lazy import logs_failures
from handlers.core.services import Services
from handlers.core.values import MAX_LIST_OFFSET, whole_number
from handlers.editing.changes import (
    SAVED,
    PastDate,
    Saved,
    announce,
    delete,
    mark_done,
    save,
)
from handlers.editing.clicks import ConfirmDelete, MarkDone, OpenForm, wanted_by
from handlers.editing.fields import ModalMeta
from handlers.editing.forms import FORM_KINDS, confirm_past_view, parse_delete
from handlers.editing.loading import build_delete, build_modal, build_schools
from handlers.editing.views import (
    NOTHING_TO_DELETE,
    OPTIONS_LIMIT,
    QUERY_LIMIT,
    contact_choice,
    gone_text,
    option_dicts,
)
from storage.items import search_municipalities, search_schools


def _show(client: WebClient, body: dict[str, Any], view: View) -> None:
    """Open a modal, or push it when the click came from inside a modal."""
    trigger_id = str(body.get("trigger_id") or "")
    if (body.get("view") or {}).get("type") == "modal":
        client.views_push(trigger_id=trigger_id, view=view)
    else:
        client.views_open(trigger_id=trigger_id, view=view)


def _query(body: dict[str, Any]) -> str:
    return str(body.get("value") or "").strip()[:QUERY_LIMIT]


@logs_failures
def open_clicked(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    services: Services,
    actor: Actor,
    logger: logging.Logger,
) -> None:
    """The Home tab's «Ny …» buttons and contact picker, a row's menu (here or in the school
    list), «Ny skole» and «Slett …» in a form: open what was asked for (clicks.py)."""
    wanted = wanted_by(body, action)
    team_id = actor.team_id
    if isinstance(wanted, OpenForm):
        view = build_modal(services, team_id=team_id, meta=wanted.meta, role=wanted.role)
    elif isinstance(wanted, ConfirmDelete):
        view = build_delete(services, team_id=team_id, meta=wanted.meta)
    elif isinstance(wanted, MarkDone):
        done = mark_done(
            services, actor=actor, deadline_id=wanted.deadline_id, occurrence=wanted.occurrence
        )
        if done:
            saved = Saved("deadline", wanted.deadline_id)
            announce(saved, actor=actor, client=client, services=services, logger=logger)
            return
        view = notice_modal(gone_text("deadline"))
    else:
        logger.warning("a click the bot did not draw: %r", str(action)[:200])
        return
    _show(client, body, view)


@logs_failures
def show_schools(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    services: Services,
    actor: Actor,
) -> None:
    """The school list from the Home tab, and its pages. Everyone may look; coordinators get
    the menus to change it."""
    value = str(action.get("value") or "0")
    offset = whole_number(value, at_most=MAX_LIST_OFFSET) or 0
    coordinator = is_coordinator(services, client, actor)
    view = build_schools(services, team_id=actor.team_id, offset=offset, coordinator=coordinator)
    container = body.get("view") or {}
    if container.get("type") == "modal" and container.get("id"):
        client.views_update(view_id=container["id"], view=view)
    else:
        client.views_open(trigger_id=str(body.get("trigger_id") or ""), view=view)


# --- type-aheads ---------------------------------------------------------------------------------


def contact_options(ack: Ack, body: dict[str, Any], services: Services, actor: Actor) -> None:
    # From the in-memory directory: a type-ahead runs on every keystroke.
    hits, _total = services.snapshot(actor.team_id).directory.search(_query(body), OPTIONS_LIMIT)
    ack(options=option_dicts([contact_choice(hit) for hit in hits]))


def school_options(ack: Ack, body: dict[str, Any], services: Services, actor: Actor) -> None:
    with services.session() as session:
        hits = search_schools(
            session=session, team_id=actor.team_id, query=_query(body), limit=OPTIONS_LIMIT
        )
    ack(options=option_dicts([(s.id, f"{s.name} ({m})" if m else s.name) for s, m in hits]))


def municipality_options(ack: Ack, body: dict[str, Any], services: Services, actor: Actor) -> None:
    with services.session() as session:
        hits = search_municipalities(
            session=session, team_id=actor.team_id, query=_query(body), limit=OPTIONS_LIMIT
        )
    ack(options=option_dicts([(m.id, m.name) for m in hits]))


# --- submissions ---------------------------------------------------------------------------------


def submit_form(
    ack: Ack, view: dict[str, Any], services: Services, actor: Actor, context: BoltContext
) -> None:
    """A deadline, meeting, contact or school form: stored, or its field errors in the ack."""
    kind = FORM_KINDS[str(view.get("callback_id"))]
    meta = ModalMeta.load(view.get("private_metadata"))
    if meta is None or meta.kind != kind:
        ack(response_action="update", view=notice_modal(gone_text(kind)))
        return
    outcome = save(services, view, actor=actor, meta=meta)
    if isinstance(outcome, dict):
        ack(response_action="errors", errors=outcome)
        return
    if isinstance(outcome, PastDate):
        ack(
            response_action="update",
            view=confirm_past_view(outcome.kind, view, meta, outcome.start, outcome.end),
        )
        return
    if outcome is None:
        ack(response_action="update", view=notice_modal(gone_text(kind)))
        return
    ack()
    context[SAVED] = Saved(kind, outcome, meta.back, view.get("previous_view_id"))


def confirm_delete(
    ack: Ack, view: dict[str, Any], services: Services, actor: Actor, context: BoltContext
) -> None:
    meta = parse_delete(view)
    if meta is None or meta.item_id is None:
        ack(response_action="update", view=notice_modal(_(NOTHING_TO_DELETE)))
        return
    refused = delete(services, actor=actor, meta=meta)
    if refused is not None:
        ack(response_action="update", view=notice_modal(refused))
        return
    # Deleted from its edit modal: close that too, it shows something that is gone.
    if meta.back == "edit":
        ack(response_action="clear")
    else:
        ack()
    context[SAVED] = Saved(meta.kind, meta.item_id, meta.back, view.get("previous_view_id"))


@logs_failures
def announce_saved(
    context: BoltContext,
    client: WebClient,
    services: Services,
    actor: Actor,
    logger: logging.Logger,
) -> None:
    """After a form's ack: tell the other features (and refresh a school list under it)."""
    saved = context.get(SAVED)
    if isinstance(saved, Saved):
        announce(saved, actor=actor, client=client, services=services, logger=logger)
