"""An upload from Slack through preview to import: read the file, show what it would change,
keep it until the same user confirms, then import it all or nothing.

The file is kept in the database (`PendingImport`, for PENDING_MAX_AGE) between the preview
and the confirmation, bound to the user who uploaded it: the preview modal carries only its id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk import WebClient

from handlers.core.access import Actor
from handlers.core.feature import ItemKind
from handlers.core.i18n import N_, SOURCE, _, ngettext, use_language
from handlers.core.services import Services
from handlers.imports.fetch import FileFetchError, fetch_file
from storage import audit
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
from storage.items import ids_by_external_key
from storage.models import Deadline, Meeting, PendingImport, utcnow
from storage.text import xml_safe
from storage.workspaces import get_or_create_workspace

PENDING_MAX_AGE = timedelta(hours=2)
KIND_CONTACTS = "kontakter"
KIND_CALENDAR = "kalender"
FILENAME_LIMIT = 200
NOT_UTF8 = N_("Kalenderfilen må være lagret som UTF-8-tekst.")

# What the importers raise for a file that does not fit: every bad row, nothing stored.
FILE_ERRORS = (ContactImportError, ImportValidationError)


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


def kind_of(filename: str) -> str:
    return KIND_CALENDAR if filename.lower().endswith((".yaml", ".yml")) else KIND_CONTACTS


def errors_of(err: ContactImportError | ImportValidationError) -> list[str]:
    return [str(e) for e in err.errors]


def read_upload(client: WebClient, file_id: str) -> Upload:
    try:
        filename, data = fetch_file(client, file_id)
        kind = kind_of(filename)
        text = decode(data) if kind == KIND_CONTACTS else data.decode("utf-8-sig")
    except FileFetchError as err:
        raise UnreadableFile(str(err)) from err
    except UnicodeDecodeError as err:
        raise UnreadableFile(_(NOT_UTF8)) from err
    except ContactImportError as err:
        raise UnreadableFile(str(err.errors[0].message)) from err
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


def preview_import(services: Services, *, team_id: str, upload: Upload) -> Preview:
    """What importing the upload would change; raises one of FILE_ERRORS.

    Contacts are planned without writing. The calendar importer has no dry run, so it runs
    in a transaction that is rolled back.
    """
    if upload.kind == KIND_CALENDAR:
        data = load_calendar(upload.text)
        with services.session(write=True) as session:
            result = import_calendar(session=session, team_id=team_id, data=data)
            session.rollback()
        summary, lines = calendar_summary(result)
        return Preview(summary, lines, result.changed)
    contacts = load_contacts(upload.text)
    with services.session() as session:
        planned = import_contacts(
            session=session, team_id=team_id, data=contacts, user_id=None, dry_run=True
        )
    return Preview(planned.summary(), planned.changes, planned.changed)


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


def apply_import(services: Services, *, actor: Actor, pending: PendingImport) -> Imported:
    """Import the confirmed upload for real (raises one of FILE_ERRORS), then forget it."""
    if pending.kind == KIND_CALENDAR:
        imported = _import_calendar(services, actor, pending.content)
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
