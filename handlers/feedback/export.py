"""The answers as a file (CSV or Excel), sent to the coordinator who asked in a DM.

The file's words (column and sheet names, «ja»/«nei», its name) are in the workspace's
language wherever it is made: `render_export` and `export_name` take it, so the CLI
(`dks-bot export tilbakemeldinger`, outside any request) writes the same file as the button.
The message that comes with it in the DM is the reader's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import date

from slack_sdk import WebClient

from handlers.core.access import Actor
from handlers.core.i18n import SOURCE, gettext, use_language
from handlers.core.services import Services
from handlers.feedback.views import export_comment
from storage.feedback_export import ExportRow, export_filename, export_rows, render

# What a failed export names for getting the file another way (handlers.core.exports).
CLI_EXPORT = "dks-bot export tilbakemeldinger"


def _speaking(language: str | None) -> AbstractContextManager[object]:
    """`language` inside the block; None keeps the one in force."""
    return use_language(language) if language else nullcontext()


def render_export(
    fmt: str, rows: Iterator[ExportRow] | Sequence[ExportRow], *, language: str | None = None
) -> bytes:
    """The file's bytes with its words in `language` (None: the language in force)."""
    with _speaking(language):
        return render(fmt, rows, gettext)


def export_name(
    fmt: str,
    *,
    start: date | None = None,
    end: date | None = None,
    today: date,
    language: str | None = None,
) -> str:
    """The file's name in `language` (None: the language in force)."""
    with _speaking(language):
        return export_filename(fmt, start=start, end=end, today=today, translate=gettext)


def build_export(
    services: Services,
    team_id: str,
    fmt: str,
    *,
    start: date | None = None,
    end: date | None = None,
    production_id: int | None = None,
) -> tuple[bytes, str, int]:
    """The file's bytes, its name and the number of answers in it, in the workspace's
    language (whoever asked: the file is the workspace's report)."""
    with services.session() as session:
        rows = list(
            export_rows(
                session=session,
                team_id=team_id,
                tz=services.settings.timezone,
                start=start,
                end=end,
                production_id=production_id,
            )
        )
    # None is bokmål, the workspace's default, not «the reader's».
    language = services.snapshot(team_id).settings.language or SOURCE
    name = export_name(fmt, start=start, end=end, today=services.today(), language=language)
    return render_export(fmt, rows, language=language), name, len(rows)


def send_to_dm(
    services: Services, client: WebClient, who: Actor, fmt: str, production_id: int | None
) -> int:
    """Uploads the export to a DM with `who`; returns the number of answers in it."""
    content, filename, count = build_export(services, who.team_id, fmt, production_id=production_id)
    channel = client.conversations_open(users=who.user_id)["channel"]["id"]
    client.files_upload_v2(
        channel=channel,
        file=content,
        filename=filename,
        title=filename,
        initial_comment=export_comment(count),
    )
    return count
