"""`/dks rapport`, «Last ned rapport» and the January post, through signed requests as Slack
sends them, against the fake Slack over HTTP: what a coordinator sees in the ack, in their DM
and in the command's reply."""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from slack_sdk.models.blocks import Block
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.scheduler import build_scheduler
from bot.shell.fakeslack import FakeSlack, Fault
from bot.shell.signing import block_actions_body, button_action
from handlers.core.i18n import use_language
from handlers.report import listeners
from handlers.report.charts import ChartsFailed, render_charts
from handlers.report.kinds import READY_KIND, ready_due
from handlers.report.summary import summary_lines
from handlers.report.views import DOWNLOAD_ACTION, split_title
from storage.db import session_scope
from storage.feedback import AnswerInput, respondent_key, store_answer
from storage.models import OutboxMessage, Workspace
from storage.reminders import REMINDER_KIND
from storage.report import annual_report
from storage.tourplan import get_performance
from storage.workspaces import add_coordinator, set_user_language, set_workspace_language
from tests.conftest import ADMIN, CHANNEL, MEMBER, TEAM, FrozenClock, SlackDriver
from tests.feedback_helpers import KONTAKT, OSLO, load_world
from tests.helpers import add_deadline, assert_valid_message, visible_text

DM = "D" + ADMIN[1:]  # the fake's DM with the coordinator
COMMENT = "Elevene snakket om fyret hele uka etterpå."
TEAM_NN = "T0NYNORSK"


@dataclass
class World:
    slack: SlackDriver
    engine: Engine
    clock: FrozenClock
    performances: dict[str, int]

    @property
    def fake(self) -> FakeSlack:
        return self.slack.fake

    def run(
        self, text: str, *, user: str = ADMIN, answered: bool = True
    ) -> tuple[str, list[dict[str, Any]]]:
        """`/dks <text>`: the ack's text and what was said through the response_url after
        (waited for when the command is `answered` after its ack)."""
        before = len(self.fake.responses)
        ack = self.slack.command(text, user=user)
        if answered:
            assert self.fake.wait_for(lambda: len(self.fake.responses) > before, timeout=30)
        return ack.get("text", ""), [body for _, body in self.fake.responses[before:]]

    def report(self, year: int, team: str = TEAM) -> Any:
        with session_scope(self.engine) as session:
            return annual_report(
                session=session, team_id=team, year=year, tz=OSLO, now=self.clock()
            )

    def press(self, message: dict[str, Any], *, user: str = ADMIN, channel: str = DM) -> int:
        """`user` presses «Last ned rapport» in `message`; returns the responses so far."""
        [element] = [
            e
            for b in message["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == DOWNLOAD_ACTION
        ]
        block_id = next(
            b["block_id"] for b in message["blocks"] if element in b.get("elements", [])
        )
        before = len(self.fake.responses)
        body = block_actions_body(
            team_id=TEAM,
            user_id=user,
            channel_id=channel,
            response_url=self.fake.response_url(),
            action=button_action(element),
            block_id=block_id,
            message_ts=message["ts"],
            is_ephemeral=False,
        )
        assert self.slack.post(body).status_code == 200
        return before


@pytest.fixture
def world(make_driver: Any, engine: Engine, clock: FrozenClock) -> Iterator[World]:
    """The sample tour plan and one answer, on SQLite and PostgreSQL."""
    db = engine
    slack = make_driver(engine)
    performances = load_world(db, TEAM, clock())
    # One signed answer with a comment to a performance that was held (17 November).
    with session_scope(db) as session:
        performance = get_performance(
            session=session, team_id=TEAM, performance_id=performances["AS-H26-001"]
        )
    assert performance is not None
    store_answer(
        engine=db,
        seconds=5,
        team_id=TEAM,
        user_id=KONTAKT,
        key=respondent_key(slack.settings.secret_key, TEAM, KONTAKT),
        performance=performance,
        answer=AnswerInput(
            performance_id=performance.id,
            ratings={"overall": 4, "artistic": 5, "relevance": 4, "pupils": 4, "practical": 3},
            comments={},
            pupil_hosts=None,
            pupils_attended=75,
            free_comment=COMMENT,
            anonymous=False,
        ),
        now=clock(),
    )
    yield World(slack, db, clock, performances)


def _report_message(fake: FakeSlack, dm: str = DM) -> dict[str, Any]:
    [message] = [m for m in fake.messages[dm] if not m.get("upload")]
    return message


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _sections(message: dict[str, Any]) -> str:
    return "\n".join(
        b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and "text" in b
    )


# --- /dks rapport --------------------------------------------------------------------------------


def test_a_coordinator_gets_the_report_with_its_charts_in_a_dm(world: World) -> None:
    ack, replies = world.run("rapport 2026")
    assert ack.startswith("Lager rapporten for 2026")
    fake = world.fake
    # The charts went up in one upload, shared in the DM (a file-share message there).
    [share] = [m for m in fake.messages[DM] if m.get("upload")]
    file_ids = [f["id"] for f in share["files"]]
    assert len(file_ids) == 4
    assert all(fake.shared_in(f) == [DM] for f in file_ids)
    assert fake.calls_to("files.completeUploadExternal")[-1].args["channel_id"] == DM
    for file_id in file_ids:
        width, height = _png_size(fake.uploads[file_id]["content"])
        assert width > 0 and height > 0
    # Then the report: the figures, the charts showing those files, «Last ned rapport».
    message = _report_message(fake)
    assert float(message["ts"]) > float(share["ts"])
    assert_valid_message(message)
    for block in message["blocks"]:
        assert Block.parse(block) is not None
        Block.parse(block).to_dict()  # type: ignore[union-attr]
    images = [b for b in message["blocks"] if b["type"] == "image"]
    assert [b["slack_file"] for b in images] == [{"id": f} for f in file_ids]
    report = world.report(2026)
    with use_language("nb"):
        charts = render_charts(report)
        lines = summary_lines(report, for_coordinator=True)
    assert [b["alt_text"] for b in images] == [c.alt_text for c in charts]
    assert [b["title"]["text"] for b in images] == [c.title for c in charts]
    for chart, file_id in zip(charts, file_ids, strict=True):
        assert _png_size(fake.uploads[file_id]["content"]) == (chart.width, chart.height)
    # The summary's title heads the message; every other line is in its sections.
    title, rest = split_title(lines)
    assert message["blocks"][0] == {
        "type": "header",
        "block_id": "report_header",
        "text": {"type": "plain_text", "text": "DKS-rapport for 2026", "emoji": True},
    }
    assert title == "DKS-rapport for 2026"
    shown = _sections(message)
    for line in rest:
        assert line in shown
    assert COMMENT in shown  # a coordinator reads the comments
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["text"]["text"], b["value"]) for b in buttons] == [("Last ned rapport", "2026")]
    # The command's reply links to the report in the DM.
    [reply] = replies
    link = fake.oauth.workspaces[TEAM].url + f"archives/{DM}/p{message['ts'].replace('.', '')}"
    assert link in reply["text"]
    assert reply["response_type"] == "ephemeral"


def test_the_default_year_is_the_last_calendar_year(world: World) -> None:
    ack, replies = world.run("rapport")
    assert ack.startswith("Lager rapporten for 2025")
    # The sample tour plan is autumn 2026: 2025 has nothing, and the user is told so.
    [reply] = replies
    assert "ingen DKS-forestillinger registrert for 2025" in reply["text"]
    assert world.fake.messages.get(DM, []) == []


def test_a_year_with_no_data_says_so_and_sends_nothing(world: World) -> None:
    ack, replies = world.run("rapport 2019")
    assert ack.startswith("Lager rapporten for 2019")
    [reply] = replies
    assert "ingen DKS-forestillinger registrert for 2019" in reply["text"]
    assert world.fake.messages.get(DM, []) == []
    assert world.fake.calls_to("files.completeUploadExternal") == []


def test_a_bad_or_future_year_is_a_friendly_error_in_the_readers_language(world: World) -> None:
    ack, replies = world.run("rapport tjuetjueseks", answered=False)
    assert "«tjuetjueseks» er ikke et årstall" in ack
    assert "`/dks rapport 2025`" in ack
    assert replies == []
    ack, _ = world.run("rapport 2099", answered=False)
    assert "2099 har ikke kommet ennå" in ack
    with session_scope(world.engine, write=True) as session:
        set_user_language(session=session, team_id=TEAM, user_id=ADMIN, language="en")
    ack, _ = world.run("report 20x6", answered=False)
    assert "«20x6» is not a year" in ack
    assert "`/dks report 2025`" in ack
    assert world.fake.messages.get(DM, []) == []


def test_only_coordinators_may_make_the_report(world: World) -> None:
    ack, replies = world.run("rapport 2026", user=MEMBER, answered=False)
    assert ack.startswith("Bare koordinatorer kan lage årsrapporten")
    assert replies == []
    assert world.fake.calls_to("files.getUploadURLExternal") == []
    assert world.fake.messages.get("D" + MEMBER[1:], []) == []


def test_a_nynorsk_reader_gets_the_report_in_nynorsk(world: World) -> None:
    with session_scope(world.engine, write=True) as session:
        set_user_language(session=session, team_id=TEAM, user_id=ADMIN, language="nn")
    ack, replies = world.run("rapport 2026")
    assert ack.startswith("Lagar rapporten for 2026")
    message = _report_message(world.fake)
    report = world.report(2026)
    with use_language("nn"):
        charts = render_charts(report)
        lines = summary_lines(report, for_coordinator=True)
    images = [b for b in message["blocks"] if b["type"] == "image"]
    assert [b["alt_text"] for b in images] == [c.alt_text for c in charts]
    assert all(line in _sections(message) for line in split_title(lines)[1])
    assert "direktemeldinga frå meg" in replies[0]["text"]


def test_the_report_waits_for_slack_to_finish_sharing_the_charts(world: World) -> None:
    world.fake.share_delay = 1.0  # Slack completes shares asynchronously
    _, replies = world.run("rapport 2026")
    message = _report_message(world.fake)
    assert len([b for b in message["blocks"] if b["type"] == "image"]) == 4
    assert "archives/" in replies[0]["text"]
    assert world.fake.calls_to("files.info")  # it looked before posting
    # Slack refused nothing: one report message, posted once.
    assert len(world.fake.calls_to("chat.postMessage")) == 1


def test_a_refused_upload_is_told_to_the_user(world: World) -> None:
    world.fake.fail("files.completeUploadExternal", Fault(error="not_allowed_token_type"))
    _, replies = world.run("rapport 2026")
    [reply] = replies
    assert "fikk ikke lastet opp diagrammene" in reply["text"]
    assert "not_allowed_token_type" in reply["text"]
    assert [m for m in world.fake.messages.get(DM, []) if not m.get("upload")] == []


def test_charts_slack_will_not_show_leave_the_figures_and_a_note(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shares never complete: Slack keeps refusing the image blocks. The figures go
    # without them, and the user is told.
    world.fake.share_delay = 3600.0
    monkeypatch.setattr(listeners, "SHARE_WAIT_SECONDS", 0.5)
    monkeypatch.setattr(listeners, "POST_RETRY_SECONDS", (0.05, 0.05))
    _, replies = world.run("rapport 2026")
    message = _report_message(world.fake)
    assert len(world.fake.calls_to("chat.postMessage")) == 4  # three with the charts, one without
    assert [b for b in message["blocks"] if b["type"] == "image"] == []
    assert "Last ned rapport" in visible_text(message)
    assert "ville ikke vise diagrammene" in replies[0]["text"]
    assert "archives/" in replies[0]["text"]


def test_charts_that_fail_to_draw_leave_the_figures_and_say_so(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(report: Any) -> list[Any]:
        raise ChartsFailed("the chart process took more than 120 s")

    monkeypatch.setattr(listeners, "render_charts_apart", broken)
    _, replies = world.run("rapport 2026")
    message = _report_message(world.fake)
    assert [b for b in message["blocks"] if b["type"] == "image"] == []
    assert "Elevbesøk" in _sections(message)
    assert world.fake.calls_to("files.completeUploadExternal") == []
    [reply] = replies
    assert "archives/" in reply["text"]
    assert "fikk ikke laget diagrammene" in reply["text"]


# --- «Last ned rapport» --------------------------------------------------------------------------


def test_download_uploads_the_workbook_to_the_dm(world: World) -> None:
    world.run("rapport 2026")
    message = _report_message(world.fake)
    uploads_before = len(world.fake.calls_to("files.completeUploadExternal"))
    before = world.press(message)
    fake = world.fake
    assert fake.wait_for(
        lambda: len(fake.calls_to("files.completeUploadExternal")) > uploads_before, timeout=30
    )
    [xlsx] = [u for u in fake.uploads.values() if str(u["filename"]).endswith(".xlsx")]
    assert xlsx["filename"] == "dks-rapport-2026.xlsx"
    assert xlsx["channel"] == DM
    assert xlsx["initial_comment"].startswith("Rapporten for 2026 som regneark")
    book = load_workbook(io.BytesIO(xlsx["content"]))
    assert book.sheetnames[0] == "Sammendrag"
    # Pressed in the DM itself: the file is the answer, no extra reply.
    assert len(fake.responses) == before


def test_download_is_refused_to_someone_not_a_coordinator(world: World) -> None:
    world.run("rapport 2026")
    message = _report_message(world.fake)
    uploads_before = len(world.fake.uploads)
    before = world.press(message, user=MEMBER, channel=CHANNEL)
    assert world.fake.wait_for(lambda: len(world.fake.responses) > before)
    assert "Bare koordinatorer kan laste ned årsrapporten" in world.fake.responses[-1][1]["text"]
    assert len(world.fake.uploads) == uploads_before


def test_a_refused_download_is_told(world: World) -> None:
    world.run("rapport 2026")
    message = _report_message(world.fake)
    world.fake.fail("files.getUploadURLExternal", Fault(error="ratelimited", status=200))
    before = world.press(message)
    assert world.fake.wait_for(lambda: len(world.fake.responses) > before, timeout=30)
    assert "fikk ikke sendt regnearket" in world.fake.responses[-1][1]["text"]


# --- the January post ----------------------------------------------------------------------------


JANUARY = datetime(2027, 1, 15, 8, 0, 30, tzinfo=UTC)  # Friday 15 January 2027, 09:00:30 in Oslo


def _workspace(session: Any) -> Workspace:
    workspace = session.get(Workspace, TEAM)
    assert workspace is not None
    return workspace


def _rows(engine: Engine, kind: str) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        stmt = select(OutboxMessage).where(col(OutboxMessage.kind) == kind)
        return list(session.exec(stmt.order_by(col(OutboxMessage.id))).all())


def _ready_posts(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [m for m in fake.messages.get(channel, []) if m["text"] == "Rapporten for 2026 er klar"]


def _tick(world: World, at: datetime) -> None:
    """A scheduler (as after a restart) ticks at `at`: it plans, then posts what is due."""
    world.clock.now = at
    scheduler = build_scheduler(world.slack.settings, engine=world.engine, clock=world.clock)
    try:
        scheduler.tick()
        scheduler.refresh()  # planning again changes nothing
        scheduler.tick()
    finally:
        scheduler.shutdown()


def test_the_january_post_comes_once_per_workspace_and_year_in_nynorsk(
    world: World,
) -> None:
    db = world.engine
    fake = world.fake
    with session_scope(db, write=True) as session:
        set_workspace_language(session=session, team_id=TEAM, language="nn")
        add_coordinator(session=session, team_id=TEAM, user_id=ADMIN)
        _workspace(session).reminder_channel_id = CHANNEL
    # The reporting deadline of the bundled calendar, with its reminders in the channel.
    add_deadline(db, TEAM, "Årsrapportering av DKS til fylket", date(2027, 2, 12))
    assert ready_due(2026, OSLO) == datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    # Weeks before, nothing is planned; days before, it is, and not posted.
    _tick(world, JANUARY - timedelta(days=20))
    assert _rows(db, READY_KIND) == []
    _tick(world, JANUARY - timedelta(days=2))
    [row] = _rows(db, READY_KIND)
    assert (row.target, row.unique_key, row.state) == (ADMIN, f"2026:{ADMIN}", "pending")
    assert _ready_posts(fake, DM) == []
    # On the day: posted, before the deadline's first reminder (14 days before 12 February).
    _tick(world, JANUARY)
    assert len(_ready_posts(fake, DM)) == 1
    reminders = _rows(db, REMINDER_KIND)
    assert reminders and min(r.due_at for r in reminders) > row.due_at
    # Later ticks and schedulers plan and post nothing more.
    _tick(world, JANUARY + timedelta(hours=1))
    _tick(world, JANUARY + timedelta(days=3))
    [post] = _ready_posts(fake, DM)
    assert [r.state for r in _rows(db, READY_KIND)] == ["sent"]
    assert_valid_message(post)
    text = visible_text(post)
    assert "diagramma og kommentarane" in text  # nynorsk, the workspace's language
    report = world.report(2026)
    with use_language("nn"):
        lines = summary_lines(report, for_coordinator=False)
    assert all(line in _sections(post) for line in split_title(lines)[1])
    assert COMMENT not in text  # the comments stay in the report itself
    # Its button gives the workbook, like the report's.
    before = len(fake.calls_to("files.completeUploadExternal"))
    world.press(post)
    assert fake.wait_for(lambda: len(fake.calls_to("files.completeUploadExternal")) > before, 30)


def test_a_workspace_listing_no_coordinator_gets_it_in_the_reminder_channel(
    world: World,
) -> None:
    db = world.engine
    with session_scope(db, write=True) as session:
        _workspace(session).reminder_channel_id = CHANNEL
    _tick(world, JANUARY - timedelta(days=1))
    _tick(world, JANUARY)
    [post] = _ready_posts(world.fake, CHANNEL)
    assert COMMENT not in json.dumps(post, ensure_ascii=False)
    assert "Koordinatorer får diagrammene med `/dks rapport 2026`" in visible_text(post)


def test_no_january_post_for_a_year_without_performances(
    world: World,
) -> None:
    db = world.engine
    with session_scope(db, write=True) as session:
        add_coordinator(session=session, team_id=TEAM, user_id=ADMIN)
    due = ready_due(2025, OSLO)  # the sample tour plan starts in autumn 2026
    _tick(world, due - timedelta(days=2))
    _tick(world, due + timedelta(seconds=30))
    assert [(r.unique_key, r.state) for r in _rows(db, READY_KIND)] == [
        (f"2025:{ADMIN}", "cancelled")
    ]
    assert [m for m in world.fake.messages.get(DM, []) if "2025" in m["text"]] == []
