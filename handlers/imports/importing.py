"""An upload from Slack through preview to import: read the file, show what it would change,
keep it until the same user confirms, then import it all or nothing.

Three kinds of file: a calendar (YAML), contacts (CSV) and a tour plan (CSV), told apart by
what the file holds, never by its name (storage.importers.kinds); a file that is none of them
is refused with a message naming the three. A tour plan's preview and summary also list the
change requests (storage.changes) the new plan resolves and those it leaves for the
coordinator to match (`resolution_lines`; the CLI prints the same lines).

The file is kept in the database (`PendingImport`, for PENDING_MAX_AGE) between the preview
and the confirmation, bound to the user who uploaded it: the preview modal carries only its id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from sqlmodel import Session

from handlers.core.access import Actor
from handlers.core.feature import ItemKind
from handlers.core.format import at_clock, day_text, escape
from handlers.core.i18n import N_, SOURCE, _, ngettext, use_language
from handlers.core.services import Services
from handlers.imports.fetch import FileFetchError, fetch_file
from storage import audit
from storage.changes import (
    WHY_CANCELLED,
    WHY_MISSING,
    WHY_MOVED,
    WHY_OTHER_TIME,
    RequestLine,
    Resolution,
)
from storage.importers.calendar import (
    ImportResult,
    ImportValidationError,
    import_calendar,
    load_calendar,
)
from storage.importers.contacts import (
    ContactImportError,
    decode,
    delete_pending_import,
    get_pending_import,
    import_contacts,
    load_contacts,
    save_pending_import,
)
from storage.importers.kinds import CALENDAR, TOURPLAN, file_kind, unknown_kind_message
from storage.importers.tourplan import (
    TourplanImportError,
    TourplanResult,
    import_tourplan,
    parse_tourplan,
)
from storage.items import ids_by_external_key
from storage.models import Deadline, Meeting, PendingImport, utcnow
from storage.text import xml_safe
from storage.workspaces import get_or_create_workspace

PENDING_MAX_AGE = timedelta(hours=2)
FILENAME_LIMIT = 200
NOT_UTF8 = N_("Kalenderfilen må være lagret som UTF-8-tekst.")
EMPTY = N_("Filen er tom.")

# What the importers raise for a file that does not fit: every bad row, nothing stored.
FILE_ERRORS = (ContactImportError, ImportValidationError, TourplanImportError)


class UnreadableFile(Exception):
    """The upload could not be fetched or decoded; the message is for the file field."""


@dataclass(frozen=True)
class Upload:
    filename: str
    kind: str
    text: str


@dataclass(frozen=True)
class Preview:
    summary: str
    changes: list[str]
    changed: bool


@dataclass(frozen=True)
class Imported:
    summary: str
    # The calendar rows the file names: reminders and the Home tab follow them.
    items: tuple[tuple[ItemKind, int], ...] = ()


def errors_of(err: ContactImportError | ImportValidationError | TourplanImportError) -> list[str]:
    return [str(e) for e in err.errors]


def read_upload(client: WebClient, file_id: str) -> Upload:
    """The upload, fetched and decoded, with its kind told from its content."""
    try:
        filename, data = fetch_file(client, file_id)
        # Excel's CSV may be Windows-1252; a calendar must be UTF-8 (its importer's rule).
        text = decode(data)
        kind = file_kind(text)
        if kind == CALENDAR:
            text = data.decode("utf-8-sig")
    except FileFetchError as err:
        raise UnreadableFile(str(err)) from err
    except UnicodeDecodeError as err:
        raise UnreadableFile(_(NOT_UTF8)) from err
    except ContactImportError as err:
        raise UnreadableFile(str(err.errors[0].message)) from err
    if kind is None:
        raise UnreadableFile(_(EMPTY) if not text.strip() else unknown_kind_message())
    # Kept as text until confirmed (pending_import): PostgreSQL refuses NUL in text.
    return Upload(xml_safe(filename), kind, xml_safe(text))


def calendar_summary(result: ImportResult) -> tuple[str, list[str]]:
    """«I kalenderen: 1 ny rad, 0 endrede og 3 uendrede.», and a line per kind the file has
    («1 ny frist, 0 endret, 3 uendret»): every noun agrees with its count."""
    new = ngettext("%(n)d ny rad", "%(n)d nye rader", result.created) % {"n": result.created}
    updated = ngettext("%(n)d endret", "%(n)d endrede", result.updated) % {"n": result.updated}
    unchanged = ngettext("%(n)d uendret", "%(n)d uendrede", result.unchanged) % {
        "n": result.unchanged
    }
    summary = _("I kalenderen: %(new)s, %(updated)s og %(unchanged)s.") % {
        "new": new,
        "updated": updated,
        "unchanged": unchanged,
    }
    return summary, result.lines(only_present=True)


def _when(day_or_moment: datetime, tz: ZoneInfo) -> str:
    local = day_or_moment.astimezone(tz)
    return f"{day_text(local.date())} {at_clock(local)}"


def _filed(line: RequestLine) -> str:
    """«Skole – Produksjon, 24. november 2026 kl. 09:00 (forestilling AS-1)»."""
    return _("%(school)s – %(title)s, %(when)s (forestilling %(key)s)") % {
        "school": line.school.name,
        "title": line.production_title,
        "when": f"{day_text(line.day)} {at_clock(line.start)}",
        "key": line.external_key,
    }


def _wish(line: RequestLine) -> str:
    if line.wished_date is not None:
        if line.wished_time is not None:
            return f"{day_text(line.wished_date)} {at_clock(line.wished_time)}"
        return day_text(line.wished_date)
    return _("uke %(week)d %(year)d") % {"week": line.wished_week, "year": line.wished_year}


def resolution_lines(resolution: Resolution, tz: ZoneInfo) -> list[str]:
    """One plain line per change request the import resolved or could not settle (to escape
    for mrkdwn where shown in Slack)."""
    lines = [
        _("Løst: %(request)s er flyttet til %(when)s, som skolen ønsket. Status: endret.")
        % {"request": _filed(done.request), "when": _when(done.now.starts_at, tz)}
        for done in resolution.resolved
    ]
    for open_ in resolution.unresolved:
        request = _filed(open_.request)
        if open_.why == WHY_MISSING:
            text = _("Ikke løst: %(request)s finnes ikke i den nye filen.") % {"request": request}
            if open_.candidates:
                found = ", ".join(
                    f"{c.external_key} {_when(c.starts_at, tz)}" for c in open_.candidates
                )
                text += " " + ngettext(
                    "Ny forestilling av samme produksjon på skolen: %(found)s. Er det samme "
                    "forestilling, kobler du endringsønsket til den selv; boten gjetter ikke.",
                    "Nye forestillinger av samme produksjon på skolen: %(found)s. Er en av dem "
                    "samme forestilling, kobler du endringsønsket til den selv; boten gjetter "
                    "ikke.",
                    len(open_.candidates),
                ) % {"found": found}
        elif open_.why == WHY_CANCELLED:
            text = _("Ikke løst: %(request)s er avlyst i den nye turnéplanen.") % {
                "request": request
            }
        elif open_.why == WHY_MOVED and open_.now is not None:
            text = _(
                "Flyttet: %(request)s er flyttet til %(when)s. Sjekk om endringsønsket er ordnet."
            ) % {"request": request, "when": _when(open_.now.starts_at, tz)}
        elif open_.why == WHY_OTHER_TIME and open_.now is not None:
            text = _(
                "Ikke løst: %(request)s er flyttet til ønsket dag, men %(clock)s (ønsket: "
                "%(wish)s)."
            ) % {
                "request": request,
                "clock": at_clock(open_.now.starts_at.astimezone(tz)),
                "wish": _wish(open_.request),
            }
        else:
            text = _(
                "Ikke løst: %(request)s er flyttet til %(when)s, ikke til ønsket %(wish)s."
            ) % {
                "request": request,
                "when": _when(open_.now.starts_at, tz) if open_.now else "",
                "wish": _wish(open_.request),
            }
        lines.append(text)
    return lines


def _store_tourplan(
    services: Services,
    session: Session,
    team_id: str,
    text: str,
    filename: str,
    user_id: str | None,
) -> TourplanResult:
    get_or_create_workspace(session=session, team_id=team_id)
    return import_tourplan(
        session=session,
        team_id=team_id,
        data=parse_tourplan(text.encode("utf-8")),
        tz=services.settings.timezone,
        now=services.clock(),
        grace=timedelta(hours=services.settings.reminder_grace_hours),
        source=filename,
        user_id=user_id,
    )


def preview_import(services: Services, *, team_id: str, upload: Upload) -> Preview:
    """What importing the upload would change; raises one of FILE_ERRORS.

    Contacts are planned without writing. The calendar and tour plan importers have no dry
    run, so they run in a transaction that is rolled back (a tour plan's change requests
    resolved there included).
    """
    if upload.kind == TOURPLAN:
        with services.session(write=True) as session:
            planned = _store_tourplan(
                services, session, team_id, upload.text, upload.filename, None
            )
            lines = resolution_lines(planned.resolution, services.settings.timezone)
            session.rollback()
        changed = planned.changed or bool(planned.resolution.resolved)
        return Preview(str(planned), lines, changed)
    if upload.kind == CALENDAR:
        data = load_calendar(upload.text)
        with services.session(write=True) as session:
            result = import_calendar(session=session, team_id=team_id, data=data)
            session.rollback()
        summary, lines = calendar_summary(result)
        return Preview(summary, lines, result.changed)
    contacts = load_contacts(upload.text)
    with services.session() as session:
        contacts_plan = import_contacts(
            session=session, team_id=team_id, data=contacts, user_id=None, dry_run=True
        )
    return Preview(contacts_plan.summary(), contacts_plan.changes, contacts_plan.changed)


def keep_for_confirmation(services: Services, *, actor: Actor, upload: Upload) -> str:
    """Store the upload until its uploader confirms; returns the id the preview carries."""
    pending_id = secrets.token_urlsafe(24)
    with services.session(write=True) as session:
        save_pending_import(
            session=session,
            pending_id=pending_id,
            team_id=actor.team_id,
            user_id=actor.user_id,
            filename=upload.filename[:FILENAME_LIMIT],
            kind=upload.kind,
            content=upload.text,
            now=services.clock(),
            max_age=PENDING_MAX_AGE,
        )
    return pending_id


def pending_upload(services: Services, *, actor: Actor, pending_id: str) -> PendingImport | None:
    """The upload a preview stands for: only its uploader's, and only while it is fresh."""
    with services.session() as session:
        return get_pending_import(
            session=session,
            pending_id=pending_id,
            team_id=actor.team_id,
            user_id=actor.user_id,
            now=services.clock(),
            max_age=PENDING_MAX_AGE,
        )


def _import_calendar(services: Services, actor: Actor, text: str) -> Imported:
    data = load_calendar(text)
    team_id = actor.team_id
    with services.session(write=True) as session:
        workspace = get_or_create_workspace(session=session, team_id=team_id)
        # An explicit import replaces the bundled seed; never seed on top of it later.
        workspace.seeded_at = workspace.seeded_at or utcnow()
        session.add(workspace)
        result = import_calendar(session=session, team_id=team_id, data=data)
        summary, _lines = calendar_summary(result)
        # The audit trail is a record, kept in the source language like the bot's logs.
        with use_language(SOURCE):
            recorded, _lines = calendar_summary(result)
        audit.record(
            session=session,
            team_id=team_id,
            user_id=actor.user_id,
            action="import",
            item_kind="import",
            summary=f"Import av kalender: {recorded}",
            at=services.clock(),
        )
        deadlines = ids_by_external_key(
            session=session, model=Deadline, team_id=team_id, keys=[r.key for r in data.deadlines]
        )
        meetings = ids_by_external_key(
            session=session, model=Meeting, team_id=team_id, keys=[r.key for r in data.meetings]
        )
    items: list[tuple[ItemKind, int]] = [("deadline", i) for i in deadlines]
    items += [("meeting", i) for i in meetings]
    return Imported(summary, tuple(items))


def _import_tourplan(services: Services, actor: Actor, pending: PendingImport) -> Imported:
    team_id = actor.team_id
    with services.session(write=True) as session:
        result = _store_tourplan(
            services, session, team_id, pending.content, pending.filename, actor.user_id
        )
        lines = resolution_lines(result.resolution, services.settings.timezone)
        with use_language(SOURCE):
            recorded = str(result)
        audit.record(
            session=session,
            team_id=team_id,
            user_id=actor.user_id,
            action="import",
            item_kind="import",
            summary=f"Import av turnéplan: {recorded}",
            at=services.clock(),
        )
    summary = escape(str(result))
    if lines:
        summary += "\n" + "\n".join(f"• {escape(line)}" for line in lines)
    return Imported(summary)


def apply_import(services: Services, *, actor: Actor, pending: PendingImport) -> Imported:
    """Import the confirmed upload for real (raises one of FILE_ERRORS), then forget it."""
    if pending.kind == CALENDAR:
        imported = _import_calendar(services, actor, pending.content)
    elif pending.kind == TOURPLAN:
        imported = _import_tourplan(services, actor, pending)
    else:
        contacts = load_contacts(pending.content)
        with services.session(write=True) as session:
            result = import_contacts(
                session=session,
                team_id=actor.team_id,
                data=contacts,
                user_id=actor.user_id,
                at=services.clock(),
            )
        imported = Imported(result.summary())
    with services.session(write=True) as session:
        delete_pending_import(session=session, pending_id=pending.id)
    return imported
