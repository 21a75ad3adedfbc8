"""Roles and imports: `/dks admin legg til|fjern @person`, and the Home tab's «Importer».

Coordinators are workspace admins and owners plus the people listed here. Every write path
in the bot asks `require_coordinator` on the server side: what Slack shows a user decides
nothing, since any payload can be crafted.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from handlers.core.commands import COMMAND, CommandRequest, Reply, Subcommand
from handlers.core.feature import Changed, ItemKind
from handlers.core.format import escape
from handlers.core.services import Services
from handlers.views.home import HOME_IMPORT
from handlers.views.modals import (
    FILE_ACTION,
    FILE_BLOCK,
    IMPORT_CALLBACK,
    IMPORT_CONFIRM_CALLBACK,
    import_done_modal,
    import_errors_modal,
    import_modal,
    import_preview_modal,
    notice_modal,
)
from storage import audit
from storage.folding import fold
from storage.importers.calendar import ImportValidationError, import_calendar, load_calendar
from storage.importers.contacts import (
    MAX_BYTES,
    ContactImportError,
    decode,
    delete_pending_import,
    get_pending_import,
    import_contacts,
    load_contacts,
    save_pending_import,
)
from storage.items import ids_by_external_key
from storage.models import Deadline, Meeting, utcnow
from storage.workspaces import (
    add_coordinator,
    get_or_create_workspace,
    listed_coordinators,
    remove_coordinator,
)

log = logging.getLogger(__name__)

NOT_COORDINATOR = (
    "Bare koordinatorer kan endre frister, møter, kontakter og skoler, importere og "
    "eksportere. Spør en koordinator om å legge deg til med "
    f"`{COMMAND} admin legg til @navnet-ditt`."
)
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
PENDING_MAX_AGE = timedelta(hours=2)


def require_coordinator(
    services: Services, client: WebClient, *, team_id: str, user_id: str
) -> bool:
    if not team_id or not user_id:
        return False
    return services.roles.is_coordinator(client=client, team_id=team_id, user_id=user_id)


def ids_of(body: dict[str, Any], context: BoltContext) -> tuple[str, str]:
    """(team_id, user_id) of an interaction, from the payload Slack signed."""
    user = body.get("user") or {}
    team = (body.get("team") or {}).get("id") or user.get("team_id") or context.team_id or ""
    return str(team), str(user.get("id") or context.user_id or "")


def refuse_in_modal(client: WebClient, trigger_id: str, logger: logging.Logger) -> None:
    """A Home-tab click has no channel to answer in: say no in a small modal."""
    try:
        client.views_open(trigger_id=trigger_id, view=notice_modal(NOT_COORDINATOR))
    except SlackApiError as err:
        logger.warning("could not show the refusal: %s", err.response.get("error"))


# --- /dks admin ----------------------------------------------------------------------------------


def mentioned_users(text: str) -> list[str]:
    """User ids from Slack's escaped mentions (<@U123|kari>), in order, once each."""
    return list(dict.fromkeys(_MENTION.findall(text)))


def _text(text: str) -> Reply:
    return Reply(text, [SectionBlock(text=MarkdownTextObject(text=text))])


def _listing(request: CommandRequest) -> Reply:
    with request.services.session() as session:
        listed = list(listed_coordinators(session=session, team_id=request.team_id))
    people = ", ".join(f"<@{u}>" for u in listed) if listed else "ingen ennå"
    return _text(
        f"*Koordinatorer* kan endre frister, møter, kontakter og skoler, importere og "
        f"eksportere. Administratorer og eiere av Slack-arbeidsområdet er alltid "
        f"koordinatorer. I tillegg: {people}.\n"
        f"Legg til eller fjern med `{COMMAND} admin legg til @navn` og "
        f"`{COMMAND} admin fjern @navn`."
    )


def run_admin(request: CommandRequest) -> Reply:
    words = request.args.split()
    verb = fold(" ".join(words[:2]))
    if not words or fold(words[0]) in ("liste", "list", "vis"):
        return _listing(request)
    if verb in ("legg til", "leggtil") or fold(words[0]) in ("add", "leggtil"):
        adding = True
    elif fold(words[0]) in ("fjern", "remove", "slett"):
        adding = False
    else:
        return _text(
            f"Jeg forstod ikke «{escape(request.args[:60])}». Skriv "
            f"`{COMMAND} admin legg til @navn`, `{COMMAND} admin fjern @navn` eller "
            f"`{COMMAND} admin` for å se hvem som er koordinatorer."
        )
    services, client = request.services, request.client
    if not require_coordinator(services, client, team_id=request.team_id, user_id=request.user_id):
        return _text(
            "Bare koordinatorer kan legge til eller fjerne koordinatorer. "
            f"Skriv `{COMMAND} admin` for å se hvem som er det."
        )
    users = mentioned_users(request.args)
    if not users:
        example = "legg til" if adding else "fjern"
        return _text(
            "Jeg fant ingen person i det du skrev. Skriv @ og velg personen fra lista, "
            f"for eksempel `{COMMAND} admin {example} @kari`."
        )
    done, already, admins = [], [], []
    with services.session(write=True) as session:
        for user in users:
            if adding:
                changed = add_coordinator(
                    session=session,
                    team_id=request.team_id,
                    user_id=user,
                    added_by=request.user_id,
                )
            else:
                changed = remove_coordinator(session=session, team_id=request.team_id, user_id=user)
            if changed:
                done.append(user)
                audit.record(
                    session=session,
                    team_id=request.team_id,
                    user_id=request.user_id,
                    action="add" if adding else "remove",
                    item_kind="coordinator",
                    summary=user,
                    changes={"user_id": user},
                    at=services.clock(),
                )
            else:
                already.append(user)
    if not adding:
        admins = [
            u
            for u in done + already
            if services.roles.is_workspace_admin(client=client, team_id=request.team_id, user_id=u)
        ]
    lines = []
    if done:
        who = ", ".join(f"<@{u}>" for u in done)
        lines.append(
            f":white_check_mark: {who} er nå koordinator."
            if adding
            else f":white_check_mark: {who} er ikke lenger på lista over koordinatorer."
        )
    if already:
        who = ", ".join(f"<@{u}>" for u in already)
        lines.append(f"{who} var allerede koordinator." if adding else f"{who} stod ikke på lista.")
    if admins:
        who = ", ".join(f"<@{u}>" for u in admins)
        lines.append(
            f"{who} er administrator i Slack-arbeidsområdet og er derfor fortsatt koordinator."
        )
    return _text("\n".join(lines))


SUBCOMMANDS = [
    Subcommand(
        name="admin",
        aliases=("koordinator", "koordinatorer", "roller"),
        summary="viser hvem som er koordinatorer; en koordinator kan legge til og fjerne "
        "(`legg til @navn`, `fjern @navn`).",
        example=f"{COMMAND} admin legg til @kari",
        run=run_admin,
    )
]


# --- Files from Slack ----------------------------------------------------------------------------


class FileFetchError(Exception):
    """The uploaded file could not be fetched; the message is for the user."""


def _trusted(url: str, api_url: str) -> bool:
    """Only send the bot token to Slack's own file host (or the API host, e.g. a fake)."""
    target, api = urlsplit(url), urlsplit(api_url)
    if target.scheme not in ("https", "http") or not target.hostname or not api.hostname:
        return False
    if (target.hostname, target.port, target.scheme) == (api.hostname, api.port, api.scheme):
        return True
    base = api.hostname.removeprefix("api.")
    return target.scheme == "https" and (
        target.hostname == base or target.hostname.endswith("." + base)
    )


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """urllib keeps the Authorization header on redirects: allow only trusted targets."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        if not _trusted(newurl, self.api_url):
            raise urllib.error.HTTPError(newurl, code, "untrusted redirect", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_file(client: WebClient, file_id: str) -> tuple[str, bytes]:
    """(name, bytes) of a file a user uploaded, through files.info and its private URL."""
    if not re.fullmatch(r"F[A-Z0-9]{2,}", file_id or ""):
        raise FileFetchError("Jeg fant ikke filen. Last den opp på nytt.")
    try:
        info = client.files_info(file=file_id)["file"]
    except SlackApiError as err:
        log.warning("files.info failed: %s", err.response.get("error"))
        raise FileFetchError("Jeg fikk ikke tak i filen fra Slack. Prøv igjen.") from err
    url = str(info.get("url_private_download") or info.get("url_private") or "")
    if not _trusted(url, client.base_url):
        log.warning("refusing to download a file from %s", urlsplit(url).hostname)
        raise FileFetchError("Jeg fikk ikke tak i filen fra Slack. Prøv igjen.")
    if int(info.get("size") or 0) > MAX_BYTES:
        raise FileFetchError("Filen er større enn 10 MB.")
    opener = urllib.request.build_opener(_SameHostRedirects(client.base_url))
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {client.token}"})
    try:
        with opener.open(request, timeout=10) as response:
            data = response.read(MAX_BYTES + 1)
    except (urllib.error.URLError, OSError) as err:
        log.warning("downloading %s failed: %s", file_id, err)
        raise FileFetchError("Jeg fikk ikke lastet ned filen fra Slack. Prøv igjen.") from err
    if len(data) > MAX_BYTES:
        raise FileFetchError("Filen er større enn 10 MB.")
    return str(info.get("name") or "fil"), data


# --- Import in Slack: file → preview → confirm ---------------------------------------------------

KIND_CONTACTS = "kontakter"
KIND_CALENDAR = "kalender"


def kind_of(filename: str) -> str:
    return KIND_CALENDAR if filename.lower().endswith((".yaml", ".yml")) else KIND_CONTACTS


@dataclass(frozen=True)
class Preview:
    summary: str
    changes: list[str]
    changed: bool


def _calendar_summary(result: Any) -> tuple[str, list[str]]:
    lines = []
    for noun, counts in (
        ("frister", result.deadlines),
        ("møter", result.meetings),
        ("kontakter", result.contacts),
    ):
        if counts.total:
            lines.append(
                f"{noun.capitalize()}: {counts.created} nye, {counts.updated} endret, "
                f"{counts.unchanged} uendret"
            )
    summary = (
        f"{result.created} nye og {result.updated} endrede rader i kalenderen"
        f" ({result.unchanged} uendret)."
    )
    return summary, lines


def preview_import(services: Services, *, team_id: str, kind: str, text: str) -> Preview:
    """What importing `text` would change; raises the importer's validation errors.

    Contacts are planned without writing. The calendar importer has no dry run, so it runs
    in a transaction that is rolled back.
    """
    if kind == KIND_CALENDAR:
        data = load_calendar(text)
        with services.session(write=True) as session:
            result = import_calendar(session=session, team_id=team_id, data=data)
            session.rollback()
        summary, lines = _calendar_summary(result)
        return Preview(summary, lines, result.changed)
    contacts = load_contacts(text)
    with services.session() as session:
        planned = import_contacts(
            session=session, team_id=team_id, data=contacts, user_id=None, dry_run=True
        )
    return Preview(planned.summary(), planned.changes, planned.changed)


def apply_import(
    services: Services, *, team_id: str, user_id: str, kind: str, text: str
) -> tuple[str, list[int], list[int]]:
    """Import for real; returns (summary, changed deadline ids, changed meeting ids)."""
    now = services.clock()
    if kind == KIND_CALENDAR:
        data = load_calendar(text)
        with services.session(write=True) as session:
            workspace = get_or_create_workspace(session=session, team_id=team_id)
            # An explicit import replaces the bundled seed; never seed on top of it later.
            workspace.seeded_at = workspace.seeded_at or utcnow()
            session.add(workspace)
            result = import_calendar(session=session, team_id=team_id, data=data)
            summary, _ = _calendar_summary(result)
            audit.record(
                session=session,
                team_id=team_id,
                user_id=user_id,
                action="import",
                item_kind="import",
                summary=f"Import av kalender: {summary}",
                at=now,
            )
            deadlines = ids_by_external_key(
                session=session,
                model=Deadline,
                team_id=team_id,
                keys=[row.key for row in data.deadlines],
            )
            meetings = ids_by_external_key(
                session=session,
                model=Meeting,
                team_id=team_id,
                keys=[row.key for row in data.meetings],
            )
        return summary, deadlines, meetings
    contacts = load_contacts(text)
    with services.session(write=True) as session:
        imported = import_contacts(
            session=session, team_id=team_id, data=contacts, user_id=user_id, at=now
        )
    return imported.summary(), [], []


def _errors_of(err: ContactImportError | ImportValidationError) -> list[str]:
    return [str(e) for e in err.errors]


def register(app: App) -> None:
    def open_import(
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        logger: logging.Logger,
    ) -> None:
        ack()
        team_id, user_id = ids_of(body, context)
        if not require_coordinator(context["services"], client, team_id=team_id, user_id=user_id):
            refuse_in_modal(client, body.get("trigger_id", ""), logger)
            return
        client.views_open(trigger_id=body.get("trigger_id", ""), view=import_modal())

    def submit_file(
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        logger: logging.Logger,
        view: dict[str, Any],
    ) -> None:
        services: Services = context["services"]
        team_id, user_id = ids_of(body, context)
        if not require_coordinator(services, client, team_id=team_id, user_id=user_id):
            ack(response_action="update", view=notice_modal(NOT_COORDINATOR))
            return
        state = ((view.get("state") or {}).get("values") or {}).get(FILE_BLOCK) or {}
        files = (state.get(FILE_ACTION) or {}).get("files") or []
        if not files or not isinstance(files[0], dict):
            ack(response_action="errors", errors={FILE_BLOCK: "Velg en fil å importere."})
            return
        try:
            filename, data = fetch_file(client, str(files[0].get("id") or ""))
            kind = kind_of(filename)
            text = decode(data) if kind == KIND_CONTACTS else data.decode("utf-8-sig")
        except FileFetchError as err:
            ack(response_action="errors", errors={FILE_BLOCK: str(err)})
            return
        except UnicodeDecodeError:
            ack(
                response_action="errors",
                errors={FILE_BLOCK: "Kalenderfilen må være lagret som UTF-8-tekst."},
            )
            return
        except ContactImportError as err:
            ack(response_action="errors", errors={FILE_BLOCK: str(err.errors[0].message)})
            return
        try:
            preview = preview_import(services, team_id=team_id, kind=kind, text=text)
        except (ContactImportError, ImportValidationError) as err:
            ack(response_action="push", view=import_errors_modal(filename, _errors_of(err)))
            return
        pending_id = secrets.token_urlsafe(24)
        if preview.changed:
            with services.session(write=True) as session:
                save_pending_import(
                    session=session,
                    pending_id=pending_id,
                    team_id=team_id,
                    user_id=user_id,
                    filename=filename[:200],
                    kind=kind,
                    content=text,
                    now=services.clock(),
                    max_age=PENDING_MAX_AGE,
                )
        ack(
            response_action="update",
            view=import_preview_modal(
                filename=filename,
                summary=preview.summary,
                changes=preview.changes,
                pending_id=pending_id,
                changed=preview.changed,
            ),
        )

    def confirm(
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        logger: logging.Logger,
        view: dict[str, Any],
    ) -> None:
        services: Services = context["services"]
        team_id, user_id = ids_of(body, context)
        if not require_coordinator(services, client, team_id=team_id, user_id=user_id):
            ack(response_action="update", view=notice_modal(NOT_COORDINATOR))
            return
        try:
            pending_id = str(json.loads(view.get("private_metadata") or "{}").get("pending", ""))
        except (ValueError, AttributeError):
            pending_id = ""
        with services.session() as session:
            pending = get_pending_import(
                session=session,
                pending_id=pending_id,
                team_id=team_id,
                user_id=user_id,
                now=services.clock(),
                max_age=PENDING_MAX_AGE,
            )
        if pending is None:
            ack(
                response_action="update",
                view=notice_modal(
                    "Denne forhåndsvisningen er utløpt eller allerede importert. "
                    "Trykk «Importer» på Home-fanen og last opp filen på nytt."
                ),
            )
            return
        try:
            summary, deadlines, meetings = apply_import(
                services,
                team_id=team_id,
                user_id=user_id,
                kind=pending.kind,
                text=pending.content,
            )
        except (ContactImportError, ImportValidationError) as err:
            # The workspace changed since the preview so that the file no longer fits.
            ack(
                response_action="update",
                view=import_errors_modal(pending.filename, _errors_of(err)),
            )
            return
        with services.session(write=True) as session:
            delete_pending_import(session=session, pending_id=pending.id)
        ack(response_action="update", view=import_done_modal(summary))
        items: list[tuple[ItemKind, int]] = [("deadline", i) for i in deadlines]
        items += [("meeting", i) for i in meetings]
        services.events.publish(
            Changed(team_id, user_id, tuple(items)), client=client, services=services, logger=logger
        )

    app.action(HOME_IMPORT)(open_import)
    app.view(IMPORT_CALLBACK)(submit_file)
    app.view(IMPORT_CONFIRM_CALLBACK)(confirm)
