"""The calendar for Outlook and Google: `/dks kalender` (the workspace's secret feed address,
which a coordinator can replace), the calendar as a .ics file in a DM, and the feed itself,
`GET /kalender/<token>.ics`, served by bot/server.py in HTTP mode.

The feed's address starts with the PUBLIC_URL setting, never with a request's Host or
X-Forwarded-Host: those headers are not covered by Slack's signature, so a replayed request
could otherwise hand out the real token under someone else's host. Without PUBLIC_URL,
`/dks kalender` says how to set it.

The calendar file speaks the workspace's language wherever it goes (the feed, the file in a
DM, the CLI's export): `workspace_ics`. The feed is served outside any Slack request, so it
sets that language itself.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from handlers.calendar.views import feed_blocks, rotated_note
from handlers.core.commands import COMMAND, CommandRequest, Reply
from handlers.core.format import day_text
from handlers.core.i18n import _, current_language, use_language
from handlers.core.services import Services
from storage.db import session_scope
from storage.folding import fold
from storage.ics import (
    Wording,
    calendar_ics,
    ensure_feed,
    rotate_feed,
    team_for_token,
)
from storage.models import utcnow
from storage.workspaces import workspace_language

log = logging.getLogger(__name__)

FEED_PREFIX = "/kalender/"
FILENAME = "dks.ics"


def feed_url(public_url: str | None, token: str | None) -> str | None:
    """The feed's address; None without PUBLIC_URL (or a token)."""
    if not public_url or not token:
        return None
    return f"{public_url.rstrip('/')}{FEED_PREFIX}{token}.ics"


# --- The ICS file and the feed -------------------------------------------------------------------

# The words the bot writes in the file, in the language in force when it is written.
WORDING = Wording(gettext=_, day=day_text)


def workspace_ics(*, session: Session, team_id: str, tz: ZoneInfo, now: datetime) -> bytes:
    """The workspace's calendar as one .ics file, in the workspace's language."""
    with use_language(workspace_language(session=session, team_id=team_id)):
        return calendar_ics(session=session, team_id=team_id, tz=tz, now=now, wording=WORDING)


def export_ics(services: Services, team_id: str) -> bytes:
    with services.session() as session:
        return workspace_ics(
            session=session, team_id=team_id, tz=services.settings.timezone, now=services.clock()
        )


_DTSTAMP = re.compile(rb"^DTSTAMP:[^\r\n]*\r\n", re.MULTILINE)


def make_feed_app(
    engine: Engine, *, timezone: ZoneInfo | None = None
) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """WSGI for `GET /kalender/<token>.ics`: the workspace's calendar, or 404."""
    tz = timezone or ZoneInfo("Europe/Oslo")

    def answer(
        start_response: Callable[..., Any], status: str, body: bytes, headers: list[Any]
    ) -> Iterable[bytes]:
        start_response(status, [*headers, ("content-length", str(len(body)))])
        return [body]

    def feed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "")
        token = path.removeprefix(FEED_PREFIX).removesuffix(".ics")
        plain = [("content-type", "text/plain; charset=utf-8")]
        try:
            with session_scope(engine) as session:
                team_id = team_for_token(session=session, token=token)
                body = (
                    workspace_ics(session=session, team_id=team_id, tz=tz, now=utcnow())
                    if team_id
                    else b""
                )
        except SQLAlchemyError:
            log.exception("calendar feed: database error")
            # No workspace is known here: the words are the source language's.
            return answer(
                start_response,
                "503 Service Unavailable",
                _("Prøv igjen senere.").encode(),
                plain,
            )
        if team_id is None:
            # The same answer for a wrong and a replaced token: nothing to learn from probing.
            return answer(
                start_response, "404 Not Found", _("Ukjent kalenderadresse.").encode(), plain
            )
        # DTSTAMP is "now" in every response; leave it out so an unchanged calendar keeps
        # its ETag and calendar apps can ask cheaply.
        etag = '"' + hashlib.sha256(_DTSTAMP.sub(b"", body)).hexdigest()[:32] + '"'
        headers = [
            ("content-type", "text/calendar; charset=utf-8"),
            ("content-disposition", f'inline; filename="{FILENAME}"'),
            ("cache-control", "private, max-age=900"),
            ("etag", etag),
        ]
        if etag in str(environ.get("HTTP_IF_NONE_MATCH") or ""):
            start_response("304 Not Modified", headers)
            return [b""]
        if environ.get("REQUEST_METHOD") == "HEAD":
            start_response("200 OK", [*headers, ("content-length", str(len(body)))])
            return [b""]
        return answer(start_response, "200 OK", body, headers)

    return feed


def is_feed_request(environ: dict[str, Any]) -> bool:
    return str(environ.get("PATH_INFO") or "").startswith(FEED_PREFIX) and environ.get(
        "REQUEST_METHOD"
    ) in ("GET", "HEAD")


# --- /dks kalender -------------------------------------------------------------------------------


def feed_reply(services: Services, team_id: str, user_id: str, *, rotate: bool) -> Reply:
    """The feed's address (made on first ask; a new one with `rotate`), as a reply."""
    now = services.clock()
    with services.session(write=True) as session:
        feed = (
            rotate_feed(session=session, team_id=team_id, user_id=user_id, now=now)
            if rotate
            else ensure_feed(session=session, team_id=team_id, user_id=user_id, now=now)
        )
        token, created_at = feed.token, feed.token_created_at
    url = feed_url(services.settings.public_url, token)
    created = None
    if created_at is not None:
        created = day_text(created_at.astimezone(services.settings.timezone).date())
    # Only the token's hash is kept: an address made before cannot be shown again.
    hidden = bool(services.settings.public_url) and token is None and created_at is not None
    if hidden:
        text = _("Kalenderen har en abonnementsadresse. «Lag ny adresse» gir deg en ny.")
    elif url and rotate:
        text = _("Ny kalenderadresse laget. Kalenderadresse: %(url)s") % {"url": url}
    elif url:
        text = _("Kalenderadresse: %(url)s") % {"url": url}
    elif rotate:
        text = _("Ny kalenderadresse laget. Kalenderen kan sendes som fil.")
    else:
        text = _("Kalenderen kan sendes som fil.")
    blocks = feed_blocks(url, created, hidden=hidden)
    if rotate and url:
        blocks.insert(0, rotated_note())
    return Reply(text, blocks)


# `/dks kalender`, and the word in the other languages (routed like aliases: __init__.py).
CALENDAR = "kalender"
CALENDAR_WORDS = {"nn": "kalender", "en": "calendar"}
# `/dks kalender ny`: the words for a new address, in bokmål, nynorsk and English (folded).
NEW_ADDRESS_WORDS = frozenset(
    {"ny", "ny adresse", "nytt", "roter", "new", "new address", "new link", "rotate"}
)


def run_calendar(request: CommandRequest) -> Reply:
    rotate = fold(request.args) in NEW_ADDRESS_WORDS
    return feed_reply(request.services, request.team_id, request.user_id, rotate=rotate)


# --- Sending the file ----------------------------------------------------------------------------


def send_file(
    client: WebClient, services: Services, *, team_id: str, user_id: str, logger: logging.Logger
) -> bool:
    """The calendar as dks.ics in a direct message to the user."""
    content = export_ics(services, team_id)
    # The feed's address is not kept (only its hash), so the file cannot name it.
    comment = _(
        "Her er DKS-kalenderen som fil. Åpne den i Outlook eller Google Kalender. Vil du "
        "heller abonnere (den oppdaterer seg selv), skriv `%(command)s`."
    ) % {"command": f"{COMMAND} {CALENDAR_WORDS.get(current_language(), CALENDAR)}"}
    try:
        channel = client.conversations_open(users=user_id)["channel"]["id"]
        client.files_upload_v2(
            channel=channel,
            content=content,
            filename=FILENAME,
            title=_("DKS-kalender"),
            initial_comment=comment,
        )
    except SlackApiError as err:
        logger.warning("sending the calendar file failed: %s", err.response.get("error"))
        return False
    return True
