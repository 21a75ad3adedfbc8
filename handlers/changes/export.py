"""A round's change requests as a file (Excel or CSV) for the county, sent in a DM.

The file's words (columns, sheet, reasons, statuses, its name) are in the workspace's language
wherever it is made, so `dks-bot export endringer` (outside any request) writes the same file as
the Home tab's button; the message that comes with it in the DM is the reader's.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import date

from slack_sdk import WebClient

from handlers.core.access import Actor
from handlers.core.i18n import SOURCE, _, gettext, ngettext, use_language
from handlers.core.services import Services
from storage.changes import current_round, get_round
from storage.changes_export import ExportRow, export_filename, export_rows, render


def _speaking(language: str | None) -> AbstractContextManager[object]:
    """`language` inside the block; None keeps the one in force."""
    return use_language(language) if language else nullcontext()


def render_export(fmt: str, rows: Sequence[ExportRow], *, language: str | None = None) -> bytes:
    """The file's bytes with its words in `language` (None: the language in force)."""
    with _speaking(language):
        return render(fmt, rows, gettext)


def export_name(fmt: str, *, today: date, language: str | None = None) -> str:
    """The file's name in `language` (None: the language in force)."""
    with _speaking(language):
        return export_filename(fmt, today=today, translate=gettext)


def export_comment(count: int) -> str:
    """What the DM says with the file, in the reader's language."""
    if count == 0:
        return _("Runden har ingen endringsønsker ennå. Her er en tom fil med kolonnene.")
    return ngettext(
        "Her er %(n)d endringsønske til turnéplanen, klart til å sendes til fylket.",
        "Her er %(n)d endringsønsker til turnéplanen, klare til å sendes til fylket.",
        count,
    ) % {"n": count}


def build_export(
    services: Services, team_id: str, fmt: str, round_id: int | None = None
) -> tuple[bytes, str, int]:
    """The file's bytes, its name and the number of requests in it, in the workspace's
    language (whoever asked: the file is the workspace's). `round_id` None: the newest round
    (an empty file with the columns if there is none)."""
    tz = services.settings.timezone
    with services.session() as session:
        round_ = (
            get_round(session=session, team_id=team_id, round_id=round_id)
            if round_id is not None
            else current_round(session=session, team_id=team_id)
        )
        rows = (
            export_rows(session=session, team_id=team_id, round_id=int(round_.id), tz=tz)
            if round_ is not None and round_.id is not None
            else []
        )
    language = services.snapshot(team_id).settings.language or SOURCE
    name = export_name(fmt, today=services.today(), language=language)
    return render_export(fmt, rows, language=language), name, len(rows)


def send_to_dm(
    services: Services, client: WebClient, who: Actor, fmt: str, round_id: int | None
) -> int:
    """Uploads the export to a DM with `who`; returns the number of requests in it."""
    content, filename, count = build_export(services, who.team_id, fmt, round_id)
    channel = client.conversations_open(users=who.user_id)["channel"]["id"]
    client.files_upload_v2(
        channel=channel,
        file=content,
        filename=filename,
        title=filename,
        initial_comment=export_comment(count),
    )
    return count
