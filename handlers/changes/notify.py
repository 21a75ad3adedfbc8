"""Direct messages to kulturkontakter: the round's invitation, and a request's new status.

Each is written in its reader's language (their own choice, else the workspace's), whoever
caused it. Slack refusing one DM (a deactivated user) is logged and the others still go; the
change itself is already stored. Also used after a tour plan import resolved requests
(`notify_status`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from handlers.changes.views import invitation, status_message
from handlers.core.i18n import pick, use_language
from handlers.core.services import Services
from storage.changes import RequestLine, RoundOpened


def reader_language(services: Services, team_id: str, user_id: str) -> str:
    settings = services.snapshot(team_id).settings
    return pick(settings.user_languages.get(user_id), settings.language)


def send_dm(
    client: WebClient, user_id: str, text: str, blocks: Sequence[Block], logger: logging.Logger
) -> bool:
    try:
        opened = client.conversations_open(users=user_id)
        channel = str(opened["channel"]["id"])
        client.chat_postMessage(
            channel=channel,
            text=text,
            blocks=[b.to_dict() for b in blocks],
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as err:
        logger.warning("could not DM %s: %s", user_id, err.response.get("error"))
        return False
    return True


def invite(
    client: WebClient,
    services: Services,
    *,
    team_id: str,
    opened: RoundOpened,
    logger: logging.Logger,
) -> int:
    """«Turnéplanen for <skole> er klar …» to each kulturkontakt of each school in the round;
    returns how many went out."""
    round_ = opened.round
    assert round_.id is not None
    sent = 0
    for school in opened.schools:
        if not school.performances:
            continue
        for user_id in school.kulturkontakt_users:
            with use_language(reader_language(services, team_id, user_id)):
                text, blocks = invitation(
                    round_id=round_.id, closing_date=round_.closing_date, school=school.school
                )
            sent += send_dm(client, user_id, text, blocks, logger)
    return sent


def invited_count(opened: RoundOpened) -> int:
    """How many DMs `invite` will send."""
    return sum(len(s.kulturkontakt_users) for s in opened.schools if s.performances)


def notify_status(
    client: WebClient,
    services: Services,
    *,
    team_id: str,
    lines: Sequence[tuple[RequestLine, Sequence[str]]],
    logger: logging.Logger,
) -> int:
    """Tell each of the Slack ids paired with a request its new status (storage's
    `StatusChange.notify`, or `Resolution.notify` after an import); returns how many DMs went
    out."""
    sent = 0
    for line, users in lines:
        for user_id in users:
            with use_language(reader_language(services, team_id, user_id)):
                text, blocks = status_message(line)
            sent += send_dm(client, user_id, text, blocks, logger)
    return sent
