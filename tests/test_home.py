"""The Home tab: published on app_home_opened with a view Slack accepts, within 100 blocks
however much is stored, «Vis flere», read-only for non-coordinators, and pluggable sections."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import HeaderBlock, SectionBlock
from slack_sdk.models.views import View
from sqlalchemy import insert

from bot.shell.signing import button_action, event_body
from handlers.core.feature import SectionRequest
from handlers.home.views import HOME_MORE, MAX_BLOCKS
from storage.db import session_scope
from storage.folding import search_key
from storage.models import Deadline, Meeting, Workspace
from tests.conftest import ADMIN, CHANNEL, MEMBER, TEAM
from tests.helpers import seeded_workspace, visible_text
from tests.test_editing import click, open_home, wait_for_call

TODAY = date(2026, 11, 24)


def headers(view: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]


def assert_valid_home(view: dict[str, Any]) -> None:
    assert view["type"] == "home"
    assert len(view["blocks"]) <= MAX_BLOCKS
    View(**{k: v for k, v in view.items() if k not in ("id", "team_id", "hash")}).validate_json()
    ids = [b["block_id"] for b in view["blocks"] if "block_id" in b]
    assert len(ids) == len(set(ids)), "block_ids must be unique in a view"


def test_a_new_workspace_gets_a_home_tab_from_the_bundled_calendar(slack, fake_slack):
    view = open_home(slack)
    assert_valid_home(view)
    ours = [
        "DKS-boten",
        "Neste frister",
        "Kommende møter",
        "Mangler dato",
        "Skoler uten kulturkontakt",
        "Påminnelser",
    ]
    # Other features' sections (the language chooser) come between; ours keep their order.
    assert [h for h in headers(view) if h in ours] == ours
    text = visible_text(view)
    assert "Årsrapportering av DKS til fylket" in text and "12. februar 2027" in text
    assert "forventet dato" in text
    assert "Ingen skoler er lagt inn ennå" in text
    assert "Ingen kanal er valgt for påminnelser" in text
    buttons = next(b for b in view["blocks"] if b.get("block_id") == "home_buttons")
    assert [e["text"]["text"] for e in buttons["elements"]] == [
        "Ny frist",
        "Nytt møte",
        "Ny kontakt",
        "Importer",
        "Eksporter kalender",
    ]

    # The messages tab is not the Home tab: nothing is published for it.
    before = len(fake_slack.calls_to("views.publish"))
    body = event_body(
        team_id=TEAM,
        event={"type": "app_home_opened", "user": ADMIN, "channel": "D0HOME", "tab": "messages"},
    )
    assert slack.post(body).status_code == 200
    assert not fake_slack.wait_for(
        lambda: len(fake_slack.calls_to("views.publish")) > before, timeout=0.5
    )


def test_a_member_reads_the_same_overview_without_buttons_or_menus(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    with session_scope(sqlite_engine, write=True) as session:
        session.merge(Workspace(team_id=TEAM, reminder_channel_id=CHANNEL, reminders_paused=False))
    view = open_home(slack, user=MEMBER)
    assert_valid_home(view)
    assert not any(
        b["type"] == "actions" and b.get("block_id", "").startswith("home_b")
        for b in view["blocks"]
    )
    assert not any(b.get("accessory", {}).get("type") == "overflow" for b in view["blocks"])
    text = visible_text(view)
    assert "Bare koordinatorer kan endre" in text
    assert f"Påminnelser går til <#{CHANNEL}>" in text


def _bulk_items(engine: Any, n: int) -> None:
    rows_d = []
    rows_m = []
    for i in range(n):
        day = TODAY + timedelta(days=i % 400)
        title = f"Frist {i:04d} for Østre skole"
        rows_d.append(
            {
                "team_id": TEAM,
                "title": title,
                "precision": "day",
                "due_date": day,
                "search_key": search_key(title),
                "form": None,
            }
        )
        meeting = f"Nettverksmøte {i:04d}"
        rows_m.append(
            {
                "team_id": TEAM,
                "title": meeting,
                "precision": "day",
                "start_date": day,
                "kind": "nettverksmøte",
                "form": "digital",
                "search_key": search_key(meeting),
            }
        )
    for row in rows_d:
        row.pop("form")
    with session_scope(engine, write=True) as session:
        session.execute(insert(Deadline), rows_d)
        session.execute(insert(Meeting), rows_m)


def test_thousands_of_items_stay_inside_100_blocks_and_vis_flere_grows_the_list(
    slack, sqlite_engine, fake_slack
):
    seeded_workspace(sqlite_engine, TEAM)
    _bulk_items(sqlite_engine, 2000)
    view = open_home(slack)
    assert_valid_home(view)
    first = sum(1 for b in view["blocks"] if b.get("block_id", "").startswith("item:deadline"))
    assert first >= 5
    for _ in range(12):
        more = next(b for b in view["blocks"] if b.get("block_id") == "home_deadlines_more")
        before = len(fake_slack.calls_to("views.publish"))
        click(slack, view, button_action(more["elements"][0]), more["block_id"])
        wait_for_call(slack, "views.publish", before)
        view = fake_slack.home_views[ADMIN]
        assert_valid_home(view)
        shown = sum(1 for b in view["blocks"] if b.get("block_id", "").startswith("item:deadline"))
        assert shown >= first
        if not any(b.get("block_id") == "home_deadlines_more" for b in view["blocks"]):
            break
        assert shown > first
        first = shown
    # The tab is full: it points to the command that lists everything instead.
    assert "Skriv `/dks frist alle` for å se alle" in visible_text(view)
    assert len(view["blocks"]) <= MAX_BLOCKS
    # Soonest first, and the meetings kept a place.
    titles = [
        b["text"]["text"].split("\n")[0]
        for b in view["blocks"]
        if b.get("block_id", "").startswith("item:deadline")
    ]
    assert titles[:2] == ["*Frist 0000 for Østre skole*", "*Frist 0400 for Østre skole*"]
    assert any(b.get("block_id", "").startswith("item:meeting") for b in view["blocks"])
    assert more["elements"][0]["action_id"] == HOME_MORE


def test_other_features_plug_in_sections_that_show_only_with_data(
    slack, sqlite_engine, caplog: pytest.LogCaptureFixture
):
    seeded_workspace(sqlite_engine, TEAM)
    seen: list[SectionRequest] = []

    def missing_feedback(request: SectionRequest) -> list[Any]:
        seen.append(request)
        if not request.coordinator:
            return []
        return [
            HeaderBlock(text="Tilbakemeldinger som mangler"),
            SectionBlock(block_id="feedback_missing", text="2 forestillinger mangler svar."),
        ]

    def broken(request: SectionRequest) -> list[Any]:
        raise RuntimeError("boom")

    # As a feature declaring `home_sections` would add them; this app's services only.
    slack.services.home_sections.extend([missing_feedback, broken])
    with caplog.at_level(logging.ERROR):
        view = open_home(slack)
    assert_valid_home(view)
    names = headers(view)
    assert names.count("Tilbakemeldinger som mangler") == 1
    assert names.index("Kommende møter") < names.index("Tilbakemeldinger som mangler")
    assert names.index("Tilbakemeldinger som mangler") < names.index("Skoler uten kulturkontakt")
    assert "a Home section failed" in caplog.text
    assert seen[-1].team_id == TEAM and seen[-1].user_id == ADMIN
    member_view = open_home(slack, user=MEMBER)
    assert "Tilbakemeldinger som mangler" not in headers(member_view)
