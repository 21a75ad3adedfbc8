"""The answers as a file (CSV or Excel), sent to the coordinator who asked in a DM."""

from __future__ import annotations

from datetime import date

from slack_sdk import WebClient

from handlers.core.access import Actor
from handlers.core.services import Services
from handlers.feedback.views import export_comment
from storage.feedback_export import export_filename, export_rows, render


def build_export(
    services: Services,
    team_id: str,
    fmt: str,
    *,
    start: date | None = None,
    end: date | None = None,
    production_id: int | None = None,
) -> tuple[bytes, str, int]:
    """The file's bytes, its name and the number of answers in it."""
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
    name = export_filename(fmt, start=start, end=end, today=services.today())
    return render(fmt, rows), name, len(rows)


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
