"""The calendar's buttons. Each is acked at once; the work runs after the ack, in Bolt's lazy
listeners (a list page, an upload to a DM, a new feed address). Who may press the feed's
buttons is declared where they are wired (handlers/calendar/__init__.py)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from handlers.calendar.feed import feed_reply, send_file
from handlers.calendar.lists import BY_MORE_ACTION, build_reply
from handlers.calendar.views import parse_more_value
from handlers.core.access import Actor
from handlers.core.exports import export_failed_text, tell_export_failed
from handlers.core.i18n import N_, _
from handlers.core.lazy import logs_failures
from handlers.core.services import Services

SENT = N_("Kalenderfilen er sendt til deg i en direktemelding.")
# What the failure names for getting the file another way.
CLI_EXPORT = "dks-bot export kalender"


@logs_failures
def show_more(action: dict[str, Any], services: Services, actor: Actor, respond: Respond) -> None:
    """«Vis flere» under `/dks frist alle` or `/dks møte alle`: the next page, in place."""
    if respond.response_url is None:
        # Slack sends one with every click on a message; only a crafted payload (the button
        # posted as if from a view) comes without, and there is no message to replace.
        logging.getLogger(__name__).info("«Vis flere» came with no response_url")
        return
    spec = BY_MORE_ACTION[str(action.get("action_id"))]
    args, offset = parse_more_value(str(action.get("value") or ""))
    reply = build_reply(spec, services, actor.team_id, args, offset)
    respond(replace_original=True, **reply.as_message())


def _sent(client: WebClient, services: Services, actor: Actor, logger: logging.Logger) -> bool:
    """The calendar file in a DM with the actor; False when it could not be made or sent."""
    try:
        return send_file(
            client, services, team_id=actor.team_id, user_id=actor.user_id, logger=logger
        )
    except SQLAlchemyError:
        logger.exception("the calendar file could not be made")
        return False


@logs_failures
def send_from_home(
    client: WebClient, services: Services, actor: Actor, logger: logging.Logger
) -> None:
    """The Home tab's «Eksporter kalender»: the file arrives in a DM, which is the answer; so
    does the news that it could not be sent (a Home tab click has no reply of its own)."""
    if not _sent(client, services, actor, logger):
        tell_export_failed(client, user_id=actor.user_id, command=CLI_EXPORT, logger=logger)


@logs_failures
def send_from_message(
    client: WebClient,
    services: Services,
    actor: Actor,
    logger: logging.Logger,
    respond: Respond,
) -> None:
    """«Send meg kalenderfilen» under `/dks kalender`: the file in a DM, and a word here."""
    sent = _sent(client, services, actor, logger)
    if respond.response_url is None:
        # Only a crafted payload (the button posted as if from a view) comes without one.
        logger.info("«Send meg kalenderfilen» came with no response_url")
        return
    text = _(SENT) if sent else export_failed_text(CLI_EXPORT)
    respond(response_type="ephemeral", replace_original=False, text=text)


@logs_failures
def rotate(services: Services, actor: Actor, respond: Respond) -> None:
    """«Lag ny adresse»: the old address stops working; the reply shows the new one."""
    if respond.response_url is None:
        # Only a crafted payload (the button posted as if from a view) comes without one. The
        # new address could be shown nowhere, so the old one is left working.
        logging.getLogger(__name__).info("«Lag ny adresse» came with no response_url")
        return
    reply = feed_reply(services, actor.team_id, actor.user_id, rotate=True)
    respond(replace_original=True, **reply.as_message())
