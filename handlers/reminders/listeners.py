"""Bolt listeners for reminders: the buttons on a posted reminder («Ferdig», «Angre», «Minn meg
på i morgen»), «Bruk denne kanalen» on the channel offer, and the bot joining a channel.

A button's ack is only `ack()`; the write and the edit of the message run lazily, so Slack
gets its answer at once whatever the database and chat.update take.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from sqlmodel import Session

from handlers.core.access import Actor
from handlers.core.lazy import logs_failures
from handlers.core.services import Services
from handlers.reminders.sync import choose_channel, refresh_workspace
from handlers.reminders.views import (
    ReminderRef,
    ReminderView,
    channel_chosen_blocks,
    channel_offer_blocks,
    done_blocks,
    parse_reminder_value,
    reminder_blocks,
    reminder_text,
    when_posted,
)
from storage.models import OutboxMessage
from storage.outbox import get_message
from storage.reminders import get_done, load_item, mark_done, schedule_snooze, undo_done
from storage.workspaces import get_workspace

UNKNOWN_DEADLINE_BUTTON = "Den knappen forstår jeg ikke. Prøv `/dks frist` i stedet."
DEADLINE_GONE = "Fristen finnes ikke lenger i kalenderen."


def _message_location(body: dict[str, Any]) -> tuple[str, str] | None:
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts")
    if not channel or not ts:
        return None
    return str(channel), str(ts)


def _ephemeral(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def _current(
    session: Session, team_id: str, ref: ReminderRef
) -> tuple[ReminderView, OutboxMessage | None] | None:
    """The reminder as its item is now, and its outbox row; None when the item is gone."""
    item = load_item(session=session, kind=ref.kind, item_id=ref.item_id)
    if item is None or item.team_id != team_id:
        return None
    row = get_message(session=session, message_id=ref.message_id)
    expected = bool((row.payload or {}).get("expected")) if row is not None else False
    return ReminderView.for_occurrence(item, ref.occurrence, expected=expected), row


def _update_message(
    client: WebClient,
    logger: logging.Logger,
    location: tuple[str, str],
    text: str,
    blocks: list[Block],
    marker: str | None,
) -> None:
    # The marker is how the scheduler finds a posted message after a crash: keep it.
    if marker:
        blocks[0].block_id = marker
    try:
        client.chat_update(channel=location[0], ts=location[1], text=text, blocks=blocks)
    except SlackApiError as err:
        logger.warning("could not update reminder message: %s", err.response.get("error"))


@logs_failures
def done_clicked(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    logger: logging.Logger,
    respond: Respond,
) -> None:
    """«Ferdig»: the occurrence is done for everyone; its later reminders are cancelled."""
    services: Services = context["services"]
    who: Actor = context["actor"]
    ref = parse_reminder_value(action.get("value", ""))
    location = _message_location(body)
    if ref is None or ref.kind != "deadline" or location is None:
        _ephemeral(respond, UNKNOWN_DEADLINE_BUTTON)
        return
    now = services.clock()
    tz = services.settings.timezone
    with services.session(write=True) as session:
        found = _current(session, who.team_id, ref)
        if found is None:
            _ephemeral(respond, DEADLINE_GONE)
            return
        view, row = found
        mark, created = mark_done(
            session=session,
            team_id=who.team_id,
            deadline_id=ref.item_id,
            occurrence=ref.occurrence,
            user_id=who.user_id,
            now=now,
        )
        done_by, done_at = mark.done_by, mark.done_at or now
    today = now.astimezone(tz).date()
    blocks = done_blocks(view, ref, today=today, tz=tz, done_by=done_by, done_at=done_at)
    text = f"{view.title}: markert som ferdig av {done_by}."
    _update_message(client, logger, location, text, blocks, row.marker if row else None)
    if not created:
        _ephemeral(respond, f"Denne fristen var allerede markert som ferdig av <@{done_by}>.")


@logs_failures
def undo_clicked(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    logger: logging.Logger,
    respond: Respond,
) -> None:
    """«Angre»: the occurrence is open again, with its remaining reminders."""
    services: Services = context["services"]
    who: Actor = context["actor"]
    ref = parse_reminder_value(action.get("value", ""))
    location = _message_location(body)
    if ref is None or ref.kind != "deadline" or location is None:
        _ephemeral(respond, UNKNOWN_DEADLINE_BUTTON)
        return
    now = services.clock()
    tz = services.settings.timezone
    with services.session(write=True) as session:
        found = _current(session, who.team_id, ref)
        if found is None:
            _ephemeral(respond, DEADLINE_GONE)
            return
        view, row = found
        undo_done(
            session=session, team_id=who.team_id, deadline_id=ref.item_id, occurrence=ref.occurrence
        )
    refresh_workspace(services, who.team_id, only=("deadline", ref.item_id))
    today = now.astimezone(tz).date()
    blocks = reminder_blocks(view, ref, today=today, tz=tz)
    _update_message(
        client, logger, location, reminder_text(view, today), blocks, row.marker if row else None
    )


@logs_failures
def snooze_clicked(
    body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond
) -> None:
    """«Minn meg på i morgen»: the same reminder again the next working day at nine."""
    services: Services = context["services"]
    who: Actor = context["actor"]
    ref = parse_reminder_value(action.get("value", ""))
    location = _message_location(body)
    if ref is None or location is None:
        _ephemeral(respond, "Den knappen forstår jeg ikke. Prøv `/dks påminnelser` i stedet.")
        return
    now = services.clock()
    tz = services.settings.timezone
    with services.session(write=True) as session:
        if ref.kind == "deadline" and (
            mark := get_done(
                session=session,
                team_id=who.team_id,
                deadline_id=ref.item_id,
                occurrence=ref.occurrence,
            )
        ):
            _ephemeral(respond, f"Fristen er allerede markert som ferdig av <@{mark.done_by}>.")
            return
        row = schedule_snooze(
            session=session,
            team_id=who.team_id,
            item_kind=ref.kind,  # type: ignore[arg-type]
            item_id=ref.item_id,
            occurrence=ref.occurrence,
            target=location[0],
            user_id=who.user_id,
            now=now,
            tz=tz,
        )
    if row is None:
        _ephemeral(respond, "Den finnes ikke lenger i kalenderen, så jeg minner ikke om den.")
        return
    _ephemeral(respond, f":zzz: Greit, jeg minner om den igjen {when_posted(row.due_at, tz)}.")


@logs_failures
def use_channel_clicked(
    body: dict[str, Any], client: WebClient, context: BoltContext, logger: logging.Logger
) -> None:
    """«Bruk denne kanalen til påminnelser» (coordinators only, declared where it is wired)."""
    location = _message_location(body)
    if location is None:
        return
    who: Actor = context["actor"]
    choose_channel(context["services"], who.team_id, location[0], who.user_id)
    _update_message(
        client,
        logger,
        location,
        "Påminnelser kommer nå i denne kanalen.",
        channel_chosen_blocks(location[0], who.user_id),
        None,
    )


def bot_joined_channel(
    event: dict[str, Any], client: WebClient, context: BoltContext, logger: logging.Logger
) -> None:
    """Invited into a channel while no reminder channel is set: offer this one."""
    if not context.bot_user_id or event.get("user") != context.bot_user_id:
        return
    services: Services = context["services"]
    team_id = context["actor"].team_id
    channel = event.get("channel")
    if not team_id or not channel:
        return
    with services.session() as session:
        workspace = get_workspace(session=session, team_id=team_id)
        if workspace is not None and workspace.reminder_channel_id:
            return
    try:
        client.chat_postMessage(
            channel=channel,
            text="Vil dere ha påminnelser om frister og møter i denne kanalen?",
            blocks=channel_offer_blocks(),
        )
    except SlackApiError as err:
        logger.warning("could not offer channel %s: %s", channel, err.response.get("error"))
