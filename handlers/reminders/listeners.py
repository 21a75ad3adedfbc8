"""Bolt listeners for reminders: the buttons on a posted reminder («Ferdig», «Angre», «Minn meg
på …»), «Bruk denne kanalen» on the channel offer, and the bot joining a channel.

A button's ack is only `ack()`; the write and the edit of the message run lazily, so Slack
gets its answer at once whatever the database and chat.update take.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ActionsBlock, Block, SectionBlock
from sqlmodel import Session

from handlers.core.access import Actor
from handlers.core.format import mention
from handlers.core.i18n import N_, _, use_language
from handlers.core.lazy import logs_failures
from handlers.core.services import Services
from handlers.reminders.snooze import snooze_at, snooze_choices, snooze_fits
from handlers.reminders.sync import choose_channel, refresh_workspace
from handlers.reminders.views import (
    REMINDER_ACTIONS_BLOCK_ID,
    ReminderRef,
    ReminderView,
    channel_chosen_blocks,
    channel_chosen_text,
    channel_offer_blocks,
    channel_offer_text,
    done_blocks,
    done_text,
    parse_reminder_value,
    reminder_blocks,
    reminder_text,
    snooze_buttons,
    snooze_choice,
    snooze_refusal,
    when_posted,
)
from handlers.reminders.words import command
from storage.models import OutboxMessage
from storage.outbox import get_message
from storage.reminders import get_done, load_item, mark_done, schedule_snooze, undo_done
from storage.workspaces import get_workspace

UNKNOWN_DEADLINE_BUTTON = N_("Den knappen forstår jeg ikke. Prøv `/dks frist` i stedet.")
DEADLINE_GONE = N_("Fristen finnes ikke lenger i kalenderen.")

W = TypeVar("W")


def _message_location(body: dict[str, Any]) -> tuple[str, str] | None:
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts")
    if not channel or not ts:
        return None
    return str(channel), str(ts)


def _channel_language(context: BoltContext) -> str | None:
    """A reminder (and the offer) is in a channel: it reads the workspace's language, whoever
    pressed its button."""
    return context.get("workspace_language")


def _ephemeral(respond: Respond, text: str, blocks: list[Block] | None = None) -> None:
    if respond.response_url is None:
        # Slack sends one with every click on a message; only a crafted payload (a message's
        # button posted as if from a view) comes without, and there is nowhere to answer.
        logging.getLogger(__name__).info("a reminder button came with no response_url")
        return
    respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


def _current(
    session: Session, team_id: str, ref: ReminderRef
) -> tuple[ReminderView, OutboxMessage | None] | None:
    """The reminder as its item is now, and its outbox row; None when the item is gone."""
    item = load_item(session=session, kind=ref.kind, item_id=ref.item_id)
    if item is None or item.team_id != team_id:
        return None
    row = get_message(session=session, message_id=ref.message_id)
    if row is not None and row.team_id != team_id:
        row = None  # a crafted value: another workspace's message says nothing here
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


@dataclass(frozen=True)
class _Pressed(Generic[W]):
    """A «Ferdig» or «Angre» press on a deadline that still exists."""

    ref: ReminderRef
    location: tuple[str, str]
    view: ReminderView  # the deadline as it is now
    marker: str | None
    written: W


def _press_deadline(
    body: dict[str, Any],
    action: dict[str, Any],
    services: Services,
    actor: Actor,
    respond: Respond,
    write: Callable[[Session, ReminderRef], W],
) -> _Pressed[W] | None:
    """The button's deadline re-read, and `write` applied to it in the same transaction.

    None, with the presser told why, for a button the bot did not draw (a crafted payload)
    or a deadline deleted since the reminder was posted.
    """
    ref = parse_reminder_value(action.get("value", ""))
    location = _message_location(body)
    if ref is None or ref.kind != "deadline" or location is None:
        _ephemeral(respond, _(UNKNOWN_DEADLINE_BUTTON))
        return None
    with services.session(write=True) as session:
        found = _current(session, actor.team_id, ref)
        if found is None:
            _ephemeral(respond, _(DEADLINE_GONE))
            return None
        view, row = found
        written = write(session, ref)
    return _Pressed(ref, location, view, row.marker if row else None, written)


@logs_failures
def done_clicked(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    services: Services,
    actor: Actor,
    logger: logging.Logger,
    respond: Respond,
) -> None:
    """«Ferdig»: the occurrence is done for everyone; its later reminders are cancelled."""
    now = services.clock()
    tz = services.settings.timezone
    pressed = _press_deadline(
        body,
        action,
        services,
        actor,
        respond,
        lambda session, ref: mark_done(
            session=session,
            team_id=actor.team_id,
            deadline_id=ref.item_id,
            occurrence=ref.occurrence,
            user_id=actor.user_id,
            now=now,
        ),
    )
    if pressed is None:
        return
    mark, created = pressed.written
    done_by, done_at = mark.done_by, mark.done_at or now
    view, today = pressed.view, now.astimezone(tz).date()
    with use_language(_channel_language(context)):
        blocks = done_blocks(
            view, pressed.ref, today=today, tz=tz, done_by=done_by, done_at=done_at
        )
        text = done_text(view, done_by)
    _update_message(client, logger, pressed.location, text, blocks, pressed.marker)
    if not created:
        _ephemeral(
            respond,
            _("Denne fristen var allerede markert som ferdig av %(person)s.")
            % {"person": mention(done_by)},
        )


@logs_failures
def undo_clicked(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    services: Services,
    actor: Actor,
    logger: logging.Logger,
    respond: Respond,
) -> None:
    """«Angre»: the occurrence is open again, with its remaining reminders."""
    now = services.clock()
    tz = services.settings.timezone
    pressed = _press_deadline(
        body,
        action,
        services,
        actor,
        respond,
        lambda session, ref: undo_done(
            session=session,
            team_id=actor.team_id,
            deadline_id=ref.item_id,
            occurrence=ref.occurrence,
        ),
    )
    if pressed is None:
        return
    refresh_workspace(services, actor.team_id, only=("deadline", pressed.ref.item_id))
    view, today = pressed.view, now.astimezone(tz).date()
    with use_language(_channel_language(context)):
        blocks = reminder_blocks(view, pressed.ref, now=now, tz=tz)
        text = reminder_text(view, today)
    _update_message(client, logger, pressed.location, text, blocks, pressed.marker)


@logs_failures
def snooze_clicked(
    body: dict[str, Any],
    action: dict[str, Any],
    services: Services,
    actor: Actor,
    respond: Respond,
) -> None:
    """«Minn meg på i morgen» / «om 1 time» / «kl. 12»: the same reminder again then, if that
    still comes before the item. The time is checked here, not only when the buttons are
    drawn: a message posted earlier may show one that no longer fits."""
    now = services.clock()
    tz = services.settings.timezone
    ref = parse_reminder_value(action.get("value", ""))
    choice = snooze_choice(str(action.get("action_id", "")))
    at = snooze_at(choice, now, tz) if choice is not None else None
    location = _message_location(body)
    if ref is None or choice is None or at is None or location is None:
        _ephemeral(
            respond,
            _("Den knappen forstår jeg ikke. Prøv `%(command)s` i stedet.")
            % {"command": command()},
        )
        return
    row = None
    with services.session(write=True) as session:
        if ref.kind == "deadline" and (
            mark := get_done(
                session=session,
                team_id=actor.team_id,
                deadline_id=ref.item_id,
                occurrence=ref.occurrence,
            )
        ):
            _ephemeral(
                respond,
                _("Fristen er allerede markert som ferdig av %(person)s.")
                % {"person": mention(mark.done_by)},
            )
            return
        found = _current(session, actor.team_id, ref)
        if found is not None:
            view = found[0]
            if not snooze_fits(at, now=now, begins=view.begins(tz), tz=tz):
                _refuse_snooze(respond, view, ref, choice, at=at, now=now, tz=tz)
                return
            row = schedule_snooze(
                session=session,
                team_id=actor.team_id,
                item_kind=ref.kind,  # type: ignore[arg-type]
                item_id=ref.item_id,
                occurrence=ref.occurrence,
                target=location[0],
                user_id=actor.user_id,
                at=at,
                now=now,
            )
    if row is None:
        _ephemeral(respond, _("Den finnes ikke lenger i kalenderen, så jeg minner ikke om den."))
        return
    _ephemeral(
        respond,
        _(":zzz: Greit, jeg minner om den igjen %(when)s.") % {"when": when_posted(row.due_at, tz)},
    )


def _refuse_snooze(
    respond: Respond,
    view: ReminderView,
    ref: ReminderRef,
    choice: str,
    *,
    at: datetime,
    now: datetime,
    tz: ZoneInfo,
) -> None:
    """Say why that time does not fit, with buttons for the ones that still do."""
    instead = snooze_choices(now, view.begins(tz), tz)
    text = snooze_refusal(view, choice, at=at, now=now, tz=tz, instead=instead)
    blocks: list[Block] = [SectionBlock(text=text)]
    if instead:
        buttons = snooze_buttons(ref, instead)
        blocks.append(ActionsBlock(block_id=REMINDER_ACTIONS_BLOCK_ID, elements=buttons))
    _ephemeral(respond, text, blocks)


@logs_failures
def use_channel_clicked(
    body: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    services: Services,
    actor: Actor,
    logger: logging.Logger,
) -> None:
    """«Bruk denne kanalen til påminnelser» (coordinators only, declared where it is wired)."""
    location = _message_location(body)
    if location is None:
        return
    choose_channel(services, actor.team_id, location[0], actor.user_id)
    with use_language(_channel_language(context)):
        text = channel_chosen_text()
        blocks = channel_chosen_blocks(location[0], actor.user_id)
    _update_message(client, logger, location, text, blocks, None)


@logs_failures
def bot_joined_channel(
    event: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    services: Services,
    actor: Actor,
    logger: logging.Logger,
) -> None:
    """Invited into a channel while no reminder channel is set: offer this one."""
    if not context.bot_user_id or event.get("user") != context.bot_user_id:
        return
    team_id = actor.team_id
    channel = event.get("channel")
    if not team_id or not channel:
        return
    with services.session() as session:
        workspace = get_workspace(session=session, team_id=team_id)
        if workspace is not None and workspace.reminder_channel_id:
            return
    with use_language(_channel_language(context)):
        text, blocks = channel_offer_text(), channel_offer_blocks()
    try:
        client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    except SlackApiError as err:
        logger.warning("could not offer channel %s: %s", channel, err.response.get("error"))
