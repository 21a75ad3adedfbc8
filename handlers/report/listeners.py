"""`/dks rapport [år]` and «Last ned rapport».

The command acks at once («Lager rapporten for 2026 …»); after the ack the figures are
computed, the charts drawn and uploaded to the coordinator's DM, and the report is posted
there with image blocks that show the uploaded files (Slack's `slack_file` source: a file
must be shared in the conversation first, or Slack answers `invalid_blocks`). The command's
reply then links to that message. Anything Slack refuses is told to the user.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from sqlalchemy.exc import SQLAlchemyError

from handlers.core.access import Actor
from handlers.core.commands import CommandRequest, Reply
from handlers.core.i18n import use_language
from handlers.core.lazy import logs_failures
from handlers.core.services import Services
from handlers.report.charts import Chart, ChartsFailed, render_charts_apart
from handlers.report.files import report_filename, report_workbook
from handlers.report.summary import summary_lines
from handlers.report.views import (
    FIRST_YEAR,
    ChartRef,
    bad_year_text,
    charts_comment,
    charts_failed_text,
    charts_not_shown_text,
    command_word,
    dm_failed_text,
    empty_year_text,
    future_year_text,
    making_text,
    post_failed_text,
    ready_link_text,
    report_blocks,
    report_text,
    report_title,
    summary_sheet_name,
    upload_failed_text,
    workbook_comment,
    workbook_failed_text,
    workbook_sent_text,
)
from storage.report import AnnualReport, annual_report, default_report_year

log = logging.getLogger(__name__)

# Slack shares an upload in the conversation asynchronously: how long to wait for the shares
# to show in files.info before posting the blocks that show the files, and how often to look.
SHARE_WAIT_SECONDS = 15.0
SHARE_POLL_SECONDS = (0.2, 0.4, 0.8, 1.5, 3.0)
# chat.postMessage answered invalid_blocks for a file share not complete yet: the pauses
# before each try again.
POST_RETRY_SECONDS = (1.0, 2.0)


# --- /dks rapport --------------------------------------------------------------------------------


def parse_year(args: str, this_year: int, default: int) -> int | str:
    """The year asked for, or the text telling why it cannot be one."""
    given = args.split()[0] if args.split() else ""
    if not given:
        return default
    if not (given.isascii() and given.isdigit() and len(given) == 4):
        return bad_year_text(given, command_word(), default)
    year = int(given)
    if year > this_year:
        return future_year_text(year, this_year)
    if year < FIRST_YEAR:
        return bad_year_text(given, command_word(), default)
    return year


def run_report(request: CommandRequest) -> Reply:
    """Ack with «Lager rapporten …»; the report follows in a DM after the ack."""
    today = request.services.today()
    year = parse_year(request.args, today.year, default_report_year(today))
    if isinstance(year, str):
        return Reply(year, [_section(year)])
    text = making_text(year)
    # A function, not a partial: Bolt deep-copies the context for the work after the ack.
    return Reply(text, [_section(text)], after=lambda: send_report(request, year))


def send_report(request: CommandRequest, year: int) -> None:
    """After the ack: the report to the coordinator's DM, then a reply linking to it."""
    services, client = request.services, request.client
    say = _replier(request.respond, request.logger)
    report = compute_report(services, request.team_id, year)
    if report.is_empty:
        say(empty_year_text(year))
        return
    lines = summary_lines(report, for_coordinator=True)
    notes: list[str] = []
    try:
        # In a child process: matplotlib would stay in the web worker's memory for good.
        charts = render_charts_apart(report)
    except ChartsFailed as err:
        request.logger.error("report: the charts failed: %s", err)
        charts, notes = [], [charts_failed_text()]
    try:
        dm = open_dm(client, request.user_id)
    except SlackApiError as err:
        request.logger.warning("report: conversations.open failed: %s", _error(err))
        say(dm_failed_text(_error(err)))
        return
    try:
        refs = upload_charts(client, dm, charts, year)
    except SlackClientError as err:
        request.logger.warning("report: uploading the charts failed: %s", _error(err))
        say(upload_failed_text(_error(err)))
        return
    wait_until_shared(client, [r.file_id for r in refs], dm)
    try:
        ts, note = post_report(client, dm, year, lines, refs, logger=request.logger)
    except SlackApiError as err:
        request.logger.warning("report: posting the report failed: %s", _error(err))
        say(post_failed_text(_error(err)))
        return
    url = message_link(client, request.team_id, dm, ts)
    say("\n".join(t for t in (ready_link_text(year, url), note, *notes) if t))


def compute_report(services: Services, team_id: str, year: int) -> AnnualReport:
    with services.session() as session:
        return annual_report(
            session=session,
            team_id=team_id,
            year=year,
            tz=services.settings.timezone,
            now=services.clock(),
        )


def open_dm(client: WebClient, user_id: str) -> str:
    return str(client.conversations_open(users=user_id)["channel"]["id"])


def upload_charts(
    client: WebClient, channel: str, charts: Sequence[Chart], year: int
) -> list[ChartRef]:
    """The PNGs shared in `channel` in one upload (one file-share message)."""
    if not charts:
        return []
    uploads = [
        {
            "file": chart.png,
            "filename": f"{chart.name}.png",
            "title": chart.title,
            "alt_txt": chart.alt_text,
        }
        for chart in charts
    ]
    response = client.files_upload_v2(
        file_uploads=uploads, channel=channel, initial_comment=charts_comment(year)
    )
    files = response.get("files") or []
    if len(files) != len(charts):
        raise SlackApiError("files.completeUploadExternal returned too few files", response)
    return [
        ChartRef(file_id=str(f["id"]), title=chart.title, alt_text=chart.alt_text)
        for f, chart in zip(files, charts, strict=True)
    ]


def wait_until_shared(
    client: WebClient,
    file_ids: Sequence[str],
    channel: str,
    *,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Whether every file shows as shared in `channel` (files.info) within `timeout`.

    files.completeUploadExternal shares asynchronously ("the API response does not yet have
    complete shares in it"), and an image block showing a file not yet shared in the
    conversation is refused. False after the timeout: the post is tried anyway."""
    limit = SHARE_WAIT_SECONDS if timeout is None else timeout
    pending = list(file_ids)
    started = time.monotonic()
    waits = iter(SHARE_POLL_SECONDS)
    while pending:
        try:
            pending = [f for f in pending if not _shared_in(client, f, channel)]
        except SlackApiError as err:
            log.info("files.info failed while waiting for a share: %s", _error(err))
        if not pending:
            return True
        wait = next(waits, SHARE_POLL_SECONDS[-1])
        if time.monotonic() - started + wait > limit:
            return False
        sleep(wait)
    return True


def _shared_in(client: WebClient, file_id: str, channel: str) -> bool:
    info: dict[str, Any] = client.files_info(file=file_id)["file"]
    listed = {*info.get("channels", ()), *info.get("groups", ()), *info.get("ims", ())}
    shares = info.get("shares") or {}
    for where in ("public", "private"):
        listed.update((shares.get(where) or {}).keys())
    return channel in listed


def post_report(
    client: WebClient,
    channel: str,
    year: int,
    lines: Sequence[str],
    charts: Sequence[ChartRef],
    *,
    logger: logging.Logger,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, str]:
    """Post the report; returns its ts and a note for the user ("" when all went well).

    Refused for its images (a share not complete yet), it is tried again a little later;
    refused still, it goes without them (the charts are in the file message above it) and
    the note says so."""
    error = ""
    pauses = (0.0, *POST_RETRY_SECONDS) if charts else (0.0,)
    for attempt, pause in enumerate(pauses):
        if pause:
            sleep(pause)
        try:
            response = client.chat_postMessage(
                channel=channel,
                text=report_text(year),
                blocks=report_blocks(year, lines, charts),
                unfurl_links=False,
            )
            return str(response["ts"]), ""
        except SlackApiError as err:
            if not _about_images(err):
                raise
            error = _error(err)
            logger.warning("report: Slack refused the chart images (try %d): %s", attempt + 1, err)
    response = client.chat_postMessage(
        channel=channel,
        text=report_text(year),
        blocks=report_blocks(year, lines, []),
        unfurl_links=False,
    )
    return str(response["ts"]), charts_not_shown_text(error)


def _about_images(err: SlackApiError) -> bool:
    if err.response.get("error") != "invalid_blocks":
        return False
    reasons = " ".join(str(e) for e in err.response.get("errors") or ())
    return "slack_file" in reasons or "image" in reasons


def message_link(client: WebClient, team_id: str, channel: str, ts: str) -> str:
    """The message's permalink; Slack's deep link to the conversation if Slack gives none."""
    try:
        return str(client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
    except SlackApiError as err:
        log.info("chat.getPermalink failed: %s; linking to the conversation", _error(err))
        return f"slack://channel?team={team_id}&id={channel}"


# --- «Last ned rapport» --------------------------------------------------------------------------


@logs_failures
def send_workbook(
    action: dict[str, Any],
    body: dict[str, Any],
    client: WebClient,
    services: Services,
    actor: Actor,
    logger: logging.Logger,
    respond: Respond,
) -> None:
    """After the ack of «Last ned rapport»: the workbook to the presser's DM. The workbook's
    sheets and headers are in the workspace's language (it is shared onwards)."""
    say = _replier(respond if respond.response_url else None, logger)
    note = ""
    year = _button_year(action.get("value"), services.today().year)
    if year is None:
        logger.info("«Last ned rapport» with a value that is no year: %r", action.get("value"))
        say(workbook_failed_text(None))
        return
    try:
        report = compute_report(services, actor.team_id, year)
        if report.is_empty:
            say(empty_year_text(year))
            return
        with use_language(services.snapshot(actor.team_id).settings.language):
            try:
                charts = render_charts_apart(report)
            except ChartsFailed as err:
                logger.error("report workbook: the charts failed: %s", err)
                charts, note = [], charts_failed_text()
            content = report_workbook(report, charts, comments=True)
            filename = report_filename(report, "xlsx")
            title = report_title(year)
            first_sheet = summary_sheet_name()
        dm = open_dm(client, actor.user_id)
        client.files_upload_v2(
            file=content,
            filename=filename,
            title=title,
            channel=dm,
            initial_comment=workbook_comment(year, first_sheet),
        )
    except SlackClientError as err:
        logger.warning("report workbook: Slack refused: %s", _error(err))
        say(workbook_failed_text(_error(err)))
        return
    except SQLAlchemyError:
        logger.exception("report workbook: the database failed")
        say(workbook_failed_text(None))
        return
    except Exception:
        logger.exception("report workbook failed")
        say(workbook_failed_text(None))
        return
    clicked_in = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    if clicked_in != dm:
        say(workbook_sent_text(year))
    if note:
        say(note)


def _button_year(value: Any, this_year: int) -> int | None:
    text = str(value or "")
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        return None
    year = int(text)
    return year if FIRST_YEAR <= year <= this_year else None


# --- helpers -------------------------------------------------------------------------------------


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))


def _error(err: SlackClientError) -> str:
    if isinstance(err, SlackApiError):
        return str(err.response.get("error") or err.response.status_code)
    return type(err).__name__


def _replier(respond: Respond | None, logger: logging.Logger) -> Callable[[str], None]:
    """Tells the user where they asked (an ephemeral reply through response_url)."""

    def say(text: str) -> None:
        if respond is None:
            logger.info("no response_url to tell the user: %s", text)
            return
        try:
            respond(text=text, response_type="ephemeral", replace_original=False)
        except Exception as err:
            logger.warning("could not tell the user: %s", type(err).__name__)

    return say
