"""The feedback listeners: the type-ahead, opening the form, submitting it, the export; and
the `/dks tilbakemelding` subcommand."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from handlers.core.access import Actor
from handlers.core.commands import CommandRequest, Reply
from handlers.core.exports import export_failed_text
from handlers.core.format import day_text
from handlers.core.i18n import _
from handlers.core.lazy import logs_failures
from handlers.core.services import Services
from handlers.feedback.export import CLI_EXPORT, send_to_dm
from handlers.feedback.forms import (
    FEEDBACK_CALLBACK_ID,
    MAX_QUERY,
    PERFORMANCE_BLOCK,
    PERFORMANCE_CANCELLED,
    PERFORMANCE_NOT_FOUND,
    STORE_FAILED,
    edit_window_closed,
    not_started,
    performance_options_json,
    read_form,
)
from handlers.feedback.kinds import forget_quietly
from handlers.feedback.missing import MISSING_CACHE
from handlers.feedback.prefill import empty_form, performance_form
from handlers.feedback.summary import summary_reply
from handlers.feedback.views import (
    EXPORT_XLSX_ACTION,
    OPEN_FAILED,
    USAGE,
    export_production,
    export_sent_text,
    parse_performance_value,
    plain_section,
    thanks_view,
    when_text,
)
from storage.db import checkpoint
from storage.feedback import AnswerInput, EditWindowClosed, respondent_key, store_answer
from storage.folding import fold
from storage.tourplan import MAX_SUGGESTIONS, get_performance, performance_index

# Validation plus storing must be done and acked well inside Slack's 3 seconds.
SUBMIT_BUDGET_SECONDS = 2.0
MIN_STORE_SECONDS = 0.3
# `/dks tilbakemelding oppsummering`, in bokmål, nynorsk and English (compared folded).
SUMMARY_WORDS = (
    "oppsummering",
    "oversikt",
    "resultater",
    "resultat",
    "samandrag",
    "oversyn",
    "summary",
    "overview",
    "results",
)


# --- the type-ahead ----------------------------------------------------------------------------


def suggest(ack: Ack, body: dict[str, Any], services: Services, actor: Actor) -> None:
    """block_suggestion: the options travel in the ack, so this must be quick.

    No Session: the index's freshness check is one read on a pooled connection, and the
    index is only rebuilt (with its own session) when the tour plan changed. If the database
    fails, `on_error` answers with no options: the user can type again, where an unanswered
    request would show Slack's error.
    """
    index = performance_index(services.engine, actor.team_id)
    rows = index.search(str(body.get("value") or "")[:MAX_QUERY], services.clock(), MAX_SUGGESTIONS)
    # The body is JSON made from options serialised once per index version; Bolt sends a
    # text ack as the body itself, as application/json when it starts with «{» (and Socket
    # Mode parses it back): the same JSON that ack(options=[...]) would send.
    ack(performance_options_json(index, rows, services.settings.timezone))


# --- opening the form --------------------------------------------------------------------------


@logs_failures
def open_form(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    services: Services,
    actor: Actor,
    logger: logging.Logger,
    respond: Respond,
) -> None:
    """After the ack of «Gi tilbakemelding» in a prompt or on Home, «Endre svaret» after
    sending, or an answer to edit: the form, read and opened within the trigger's 3 seconds."""
    performance_id = parse_performance_value(action.get("value"))
    if performance_id is None:
        view = empty_form(services, actor)
    else:
        view = performance_form(services, actor, performance_id)
    # From the Home tab the button's view is the tab itself: that one gets a new modal.
    current: dict[str, Any] = body.get("view") or {}
    try:
        modal = current.get("type") == "modal"
        if modal and current.get("callback_id") == FEEDBACK_CALLBACK_ID:
            # From the open form: a new view on top keeps what the user typed below it.
            client.views_push(trigger_id=body["trigger_id"], view=view)
        elif modal:
            client.views_update(view_id=current["id"], hash=current.get("hash"), view=view)
        else:
            client.views_open(trigger_id=body["trigger_id"], view=view)
    except SlackApiError as err:
        logger.warning("could not open the feedback modal: %s", err.response.get("error"))
        if body.get("response_url"):
            respond(response_type="ephemeral", replace_original=False, text=_(OPEN_FAILED))
    # After the modal is open: the trigger_id is only valid for three seconds.
    forget_quietly(services, logger)


# --- submitting --------------------------------------------------------------------------------


def submit(
    ack: Ack,
    view: dict[str, Any],
    services: Services,
    actor: Actor,
    logger: logging.Logger,
) -> None:
    """Validated and stored *before* the ack: field errors can only travel in the ack, so the
    store runs under a time budget well inside Slack's 3 seconds."""
    started = time.monotonic()
    tz = services.settings.timezone
    form, errors = read_form(view)
    now = services.clock()
    performance = None
    if form.performance_id is not None:
        try:
            with services.session() as session:
                performance = get_performance(
                    session=session, team_id=actor.team_id, performance_id=form.performance_id
                )
        except SQLAlchemyError:
            logger.exception("reading the performance failed")
            ack(response_action="errors", errors={PERFORMANCE_BLOCK: _(STORE_FAILED)})
            return
        if performance is None:
            errors[PERFORMANCE_BLOCK] = _(PERFORMANCE_NOT_FOUND)
        elif performance.cancelled:
            errors[PERFORMANCE_BLOCK] = _(PERFORMANCE_CANCELLED)
        elif performance.starts_at > now:
            errors[PERFORMANCE_BLOCK] = not_started(when_text(performance.starts_at, tz))
    if errors or performance is None:
        ack(response_action="errors", errors=errors)
        return
    answer = AnswerInput(
        performance_id=performance.id,
        ratings=form.ratings,
        comments=form.comments,
        pupil_hosts=form.pupil_hosts,
        pupils_attended=form.pupils_attended,
        free_comment=form.free_comment,
        anonymous=form.anonymous,
    )
    remaining = SUBMIT_BUDGET_SECONDS - (time.monotonic() - started)
    if remaining < MIN_STORE_SECONDS:
        logger.warning("feedback submit: %.2f s left of the budget, not storing", remaining)
        ack(response_action="errors", errors={PERFORMANCE_BLOCK: _(STORE_FAILED)})
        return
    try:
        result = store_answer(
            engine=services.engine,
            seconds=remaining,
            team_id=actor.team_id,
            user_id=actor.user_id,
            key=respondent_key(services.settings.secret_key, actor.team_id, actor.user_id),
            performance=performance,
            answer=answer,
            now=now,
        )
        MISSING_CACHE.forget(services.engine, actor.team_id)
    except EditWindowClosed as closed:
        until = day_text(closed.edit_until.astimezone(tz).date())
        ack(response_action="errors", errors={PERFORMANCE_BLOCK: edit_window_closed(until)})
        return
    except SQLAlchemyError:
        logger.exception("storing feedback failed")
        ack(response_action="errors", errors={PERFORMANCE_BLOCK: _(STORE_FAILED)})
        return
    ack(
        response_action="update",
        view=thanks_view(
            performance=performance,
            tz=tz,
            edit_until=result.edit_until,
            anonymous=answer.anonymous,
            created=result.created,
        ),
    )


@logs_failures
def forget_signed_versions(
    view: dict[str, Any], services: Services, logger: logging.Logger
) -> None:
    """After the ack of an anonymous submission, which may have made a signed answer
    anonymous: SQLite still holds the signed row version in its write-ahead log until a
    checkpoint (storage.db.checkpoint)."""
    form, _errors = read_form(view)
    if form.anonymous and not checkpoint(services.engine):
        logger.info("readers held up the checkpoint after an anonymous answer; the next ends it")


# --- the export --------------------------------------------------------------------------------


@logs_failures
def send_export(
    action: dict[str, Any],
    client: WebClient,
    services: Services,
    actor: Actor,
    logger: logging.Logger,
    respond: Respond,
) -> None:
    """After the ack of «Last ned» in the summary: the file goes to a DM with the coordinator."""
    fmt = "xlsx" if action.get("action_id") == EXPORT_XLSX_ACTION else "csv"
    try:
        count = send_to_dm(services, client, actor, fmt, export_production(action.get("value")))
    except (SlackApiError, SQLAlchemyError) as err:
        logger.exception("feedback export failed: %s", type(err).__name__)
        text = export_failed_text(CLI_EXPORT)
    else:
        text = export_sent_text(count)
    if respond.response_url is None:
        # Slack sends one with every click on the summary; only a crafted payload (the button
        # posted as if from a view) comes without, and the file in the DM is then the answer.
        logger.info("«Last ned» came with no response_url")
        return
    respond(response_type="ephemeral", replace_original=False, text=text)


# --- /dks tilbakemelding -----------------------------------------------------------------------


def run_feedback(request: CommandRequest) -> Reply:
    """`/dks tilbakemelding` opens the form after the ack; `… oppsummering [produksjon]`
    answers with the summary."""
    word, _sep, rest = request.args.partition(" ")
    if not word:
        # A function, not a partial: Bolt deep-copies the context for the work after the ack,
        # and copies a function as itself (a partial would copy the request's client).
        return Reply("", after=lambda: _open_empty_form(request))
    if fold(word) in SUMMARY_WORDS:
        reply = summary_reply(request, rest.strip())
        # The purge writes: it waits until the reply is on its way.
        return replace(reply, after=lambda: forget_quietly(request.services, request.logger))
    usage = _(USAGE)
    return Reply(usage, plain_section(usage))


def _open_empty_form(request: CommandRequest) -> None:
    who = Actor(team_id=request.team_id, user_id=request.user_id)
    view = empty_form(request.services, who)
    request.client.views_open(trigger_id=request.trigger_id, view=view)
    forget_quietly(request.services, request.logger)
