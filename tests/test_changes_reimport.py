"""Importing a new version of the tour plan settles the change requests it answers: a
performance moved to the wished date makes its request «endret» (and the school is told), and
everything the bot cannot settle is listed for the coordinator, never matched silently — above
all a performance that comes back under a new forestilling_id. On SQLite and PostgreSQL, and
through the Slack import (signed HTTP) and the CLI."""

from __future__ import annotations

import json
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from handlers.imports.forms import (
    FILE_ACTION,
    FILE_BLOCK,
    IMPORT_CONFIRM_CALLBACK,
    import_modal,
)
from storage.changes import (
    STATUS_KIND,
    WHY_CANCELLED,
    WHY_MISSING,
    WHY_MOVED,
    WHY_OTHER_DATE,
    WHY_OTHER_TIME,
    file_request,
    set_status,
)
from storage.db import session_scope
from storage.models import ChangeRequest, OutboxMessage
from tests.changes_world import (
    COORDINATOR,
    KARI,
    NOW,
    OLA,
    OSLO,
    TEAM,
    build_world,
    import_plan,
    opened_round,
    performance_ids,
    plan_csv,
    request_input,
)
from tests.conftest import SlackDriver
from tests.feedback_helpers import view_submission_body
from tests.test_cli import run

LATER = NOW + timedelta(days=14)  # the new plan arrives after the round closed


@pytest.fixture
def world(engine: Engine) -> dict[str, int]:
    return build_world(engine)


def _file(engine: Engine, school_id: int, key: str, user: str = KARI, **fields) -> int:
    round_id = opened_round(engine).round.id if _no_round(engine) else _round_id(engine)
    with session_scope(engine, write=True) as session:
        line = file_request(
            session=session,
            team_id=TEAM,
            round_id=round_id,
            data=request_input(session, school_id, key, **fields),
            user_id=user,
            as_coordinator=False,
            now=NOW,
            tz=OSLO,
        )
    return line.id


def _no_round(engine: Engine) -> bool:
    from storage.changes import current_round

    with session_scope(engine) as session:
        return current_round(session=session, team_id=TEAM) is None


def _round_id(engine: Engine) -> int:
    from storage.changes import current_round

    with session_scope(engine) as session:
        found = current_round(session=session, team_id=TEAM)
        assert found is not None and found.id is not None
        return found.id


def _stored(engine: Engine, request_id: int) -> ChangeRequest:
    with session_scope(engine) as session:
        row = session.get(ChangeRequest, request_id)
        assert row is not None
        return row


def _notices(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        stmt = select(OutboxMessage).where(col(OutboxMessage.kind) == STATUS_KIND)
        return list(session.exec(stmt.order_by(col(OutboxMessage.id))))


# --- What a new plan settles ---------------------------------------------------------------------


def test_a_performance_moved_to_the_wished_date_resolves_its_request_and_tells_the_school(
    engine: Engine, world: dict[str, int]
) -> None:
    request_id = _file(engine, world["Ås ungdomsskole"], "AS-1")  # wished: 10 December
    result = import_plan(
        engine, plan_csv({"AS-1": ("10.12.2026", "10:00")}), now=LATER, source="turneplan-v2.csv"
    )
    (done,) = result.resolution.resolved
    assert result.resolution.unresolved == []
    assert (done.request.id, done.request.status) == (request_id, "changed")
    assert done.now.starts_at.astimezone(OSLO).date() == date(2026, 12, 10)
    stored = _stored(engine, request_id)
    assert (stored.status, stored.resolved_by_import, stored.status_by) == (
        "changed",
        "turneplan-v2.csv",
        COORDINATOR,
    )
    # The request keeps what was asked about.
    assert stored.starts_at.astimezone(OSLO).date() == date(2026, 12, 3)
    (notice,) = _notices(engine)
    assert (notice.target, notice.payload["request_id"], notice.payload["status"]) == (
        KARI,
        request_id,
        "changed",
    )
    # The same file again changes nothing and resolves nothing more.
    again = import_plan(engine, plan_csv({"AS-1": ("10.12.2026", "10:00")}), now=LATER)
    assert not again.resolution
    assert len(_notices(engine)) == 1


def test_a_request_sent_to_the_county_is_resolved_too_but_not_a_decided_one(
    engine: Engine, world: dict[str, int]
) -> None:
    sent = _file(engine, world["Ås ungdomsskole"], "AS-1")
    rejected = _file(engine, world["Brekke skole"], "BR-1", user=OLA)
    with session_scope(engine, write=True) as session:
        set_status(
            session=session,
            team_id=TEAM,
            request_id=sent,
            status="sent",
            user_id=COORDINATOR,
            now=NOW,
            tz=OSLO,
        )
        set_status(
            session=session,
            team_id=TEAM,
            request_id=rejected,
            status="rejected",
            user_id=COORDINATOR,
            now=NOW,
            tz=OSLO,
        )
    result = import_plan(
        engine,
        plan_csv({"AS-1": ("10.12.2026", "10:00"), "BR-1": ("10.12.2026", "10:00")}),
        now=LATER,
    )
    assert [d.request.id for d in result.resolution.resolved] == [sent]
    assert _stored(engine, rejected).status == "rejected"


def test_a_week_wish_is_met_by_any_day_that_week(engine: Engine, world: dict[str, int]) -> None:
    request_id = _file(engine, world["Ås ungdomsskole"], "AS-2", wished_date=None, wished_week=4)
    result = import_plan(engine, plan_csv({"AS-2": ("28.01.2027", "12:00")}), now=LATER)
    assert [d.request.id for d in result.resolution.resolved] == [request_id]


@pytest.mark.parametrize(
    ("plan", "why"),
    [
        # Moved, but not to the wished day.
        ({"changes": {"AS-1": ("11.12.2026", "10:00")}}, WHY_OTHER_DATE),
        # The wished day, another time than the one wished.
        ({"changes": {"AS-1": ("10.12.2026", "12:00")}}, WHY_OTHER_TIME),
        ({"cancelled": {"AS-1"}}, WHY_CANCELLED),
    ],
)
def test_what_the_new_plan_does_not_settle_is_listed_and_left_open(
    engine: Engine, world: dict[str, int], plan: dict, why: str
) -> None:
    request_id = _file(engine, world["Ås ungdomsskole"], "AS-1", wished_time=time(10, 0))
    result = import_plan(engine, plan_csv(**plan), now=LATER)
    (unsettled,) = result.resolution.unresolved
    assert (unsettled.request.id, unsettled.why) == (request_id, why)
    assert unsettled.now is not None and unsettled.now.external_key == "AS-1"
    assert result.resolution.resolved == []
    assert _stored(engine, request_id).status == "new"
    assert _notices(engine) == []


def test_a_performance_back_under_a_new_id_is_a_candidate_never_a_match(
    engine: Engine, world: dict[str, int]
) -> None:
    request_id = _file(engine, world["Ås ungdomsskole"], "AS-1")
    # The county re-keyed the performance: AS-1 is gone, AS-1B is the same production at the
    # same school, on the very day the school wished.
    new_row = (
        "Fyrvokterens dagbok",
        "kulturarv",
        "Ås ungdomsskole",
        "Ås",
        "10.12.2026",
        "10:00",
        "11:00",
    )
    result = import_plan(engine, plan_csv({"AS-1": None}, extra={"AS-1B": new_row}), now=LATER)
    (unsettled,) = result.resolution.unresolved
    assert (unsettled.request.id, unsettled.why, unsettled.now) == (request_id, WHY_MISSING, None)
    assert [c.external_key for c in unsettled.candidates] == ["AS-1B"]
    assert result.resolution.resolved == []
    stored = _stored(engine, request_id)
    with session_scope(engine) as session:
        ids = performance_ids(session)
    assert (stored.status, stored.external_key, stored.performance_id) == (
        "new",
        "AS-1",
        ids["AS-1"],
    )


def test_the_coordinator_matches_a_candidate_by_hand(engine: Engine, world: dict[str, int]) -> None:
    from storage.changes import InvalidInput, rematch_request

    request_id = _file(engine, world["Ås ungdomsskole"], "AS-1")
    new_row = (
        "Fyrvokterens dagbok",
        "kulturarv",
        "Ås ungdomsskole",
        "Ås",
        "17.12.2026",
        "10:00",
        "11:00",
    )
    import_plan(engine, plan_csv({"AS-1": None}, extra={"AS-1B": new_row}), now=LATER)
    with session_scope(engine, write=True) as session:
        ids = performance_ids(session)
        with pytest.raises(InvalidInput):
            rematch_request(
                session=session,
                team_id=TEAM,
                request_id=request_id,
                performance_id=ids["BR-1"],
                user_id=COORDINATOR,
                now=LATER,
                tz=OSLO,
            )
        line = rematch_request(
            session=session,
            team_id=TEAM,
            request_id=request_id,
            performance_id=ids["AS-1B"],
            user_id=COORDINATOR,
            now=LATER,
            tz=OSLO,
        )
    assert (line.external_key, line.day) == ("AS-1B", date(2026, 12, 3))
    # Next time the county moves AS-1B to the wished day, the request is resolved.
    result = import_plan(
        engine,
        plan_csv({"AS-1": None}, extra={"AS-1B": (*new_row[:4], "10.12.2026", "10:00", "11:00")}),
        now=LATER,
    )
    assert [d.request.id for d in result.resolution.resolved] == [request_id]


def test_a_file_about_other_schools_leaves_a_request_alone(
    engine: Engine, world: dict[str, int]
) -> None:
    request_id = _file(engine, world["Ås ungdomsskole"], "AS-1")
    result = import_plan(engine, plan_csv(only={"BR-1", "VE-1"}), now=LATER)
    assert not result.resolution
    assert _stored(engine, request_id).status == "new"


def test_a_request_without_a_wished_date_is_not_resolved_by_a_move(
    engine: Engine, world: dict[str, int]
) -> None:
    request_id = _file(
        engine, world["Brekke skole"], "BR-1", user=OLA, reason="venue", wished_date=None
    )
    result = import_plan(engine, plan_csv({"BR-1": ("15.12.2026", "10:00")}), now=LATER)
    (unsettled,) = result.resolution.unresolved
    assert (unsettled.request.id, unsettled.why) == (request_id, WHY_MOVED)
    assert _stored(engine, request_id).status == "new"


# --- Through Slack's import, over signed HTTP ----------------------------------------------------


def _submit(slack: SlackDriver, view: dict, state: dict) -> dict:
    body = view_submission_body(view=view, state=state, team_id=TEAM, user_id=COORDINATOR)
    response = slack.post(body)
    assert response.status_code == 200, response.text
    return json.loads(response.text)


def _text(view: dict) -> str:
    out: list[str] = []
    for block in view.get("blocks", []):
        text = block.get("text")
        if isinstance(text, dict):
            out.append(text.get("text", ""))
        for element in block.get("elements", []) or []:
            if isinstance(element, dict) and "text" in element:
                out.append(str(element["text"]))
    return "\n".join(out)


RESOLVED_LINE = (
    "Løst: Ås ungdomsskole – Fyrvokterens dagbok, 3. desember 2026 kl. 10:00 (forestilling "
    "AS-1) er flyttet til 10. desember 2026 kl. 10:00, som skolen ønsket. Status: endret."
)
MISSING_LINE = (
    "Ikke løst: Brekke skole – Strykere på skolebesøk, 8. desember 2026 kl. 10:00 (forestilling "
    "BR-1) finnes ikke i den nye filen. Ny forestilling av samme produksjon på skolen: BR-9 "
    "15. desember 2026 kl. 10:00. Er det samme forestilling, kobler du endringsønsket til den "
    "selv; boten gjetter ikke."
)


def test_the_slack_import_previews_then_resolves_and_lists_the_rest(slack: SlackDriver) -> None:
    engine = slack.services.engine
    world = build_world(engine)
    resolved = _file(engine, world["Ås ungdomsskole"], "AS-1")
    missing = _file(engine, world["Brekke skole"], "BR-1", user=OLA)
    new_row = (
        "Strykere på skolebesøk",
        "musikk",
        "Brekke skole",
        "Ås",
        "15.12.2026",
        "10:00",
        "10:45",
    )
    raw = plan_csv({"AS-1": ("10.12.2026", "10:00"), "BR-1": None}, extra={"BR-9": new_row})
    upload = slack.fake.add_file("turneplan-v2.csv", raw, user=COORDINATOR, team_id=TEAM)
    form = {**import_modal().to_dict(), "id": "V0IMPORT"}
    state = {FILE_BLOCK: {FILE_ACTION: {"type": "file_input", "files": [upload]}}}
    preview = _submit(slack, form, state)
    assert preview["response_action"] == "update"
    assert preview["view"]["callback_id"] == IMPORT_CONFIRM_CALLBACK
    shown = _text(preview["view"])
    assert RESOLVED_LINE in shown and MISSING_LINE in shown
    # Nothing is stored before «Importer».
    assert _stored(engine, resolved).status == "new"
    done = _submit(slack, {**preview["view"], "id": "V0PREVIEW"}, {})
    assert done["response_action"] == "update"
    shown = _text(done["view"])
    assert "Importert" in shown and RESOLVED_LINE in shown and MISSING_LINE in shown
    assert _stored(engine, resolved).status == "changed"
    assert _stored(engine, resolved).resolved_by_import == "turneplan-v2.csv"
    assert _stored(engine, missing).status == "new"
    assert [n.target for n in _notices(engine)] == [KARI]


# --- Through the CLI -----------------------------------------------------------------------------


def test_the_cli_import_lists_the_resolved_and_the_unresolved(tmp_path: Path) -> None:
    from storage.db import make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'dks.db'}")
    upgrade(engine)
    world = build_world(engine)
    resolved = _file(engine, world["Ås ungdomsskole"], "AS-1")
    _file(engine, world["Brekke skole"], "BR-1", user=OLA)
    engine.dispose()
    new_row = (
        "Strykere på skolebesøk",
        "musikk",
        "Brekke skole",
        "Ås",
        "15.12.2026",
        "10:00",
        "10:45",
    )
    raw = plan_csv({"AS-1": ("10.12.2026", "10:00"), "BR-1": None}, extra={"BR-9": new_row})
    (tmp_path / "turneplan-v2.csv").write_bytes(raw)
    result = run(tmp_path, "import", "turneplan", "turneplan-v2.csv", "--team", TEAM)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Endringsønsker: 1 løst av den nye turnéplanen, 1 ikke løst." in lines
    assert f"  {RESOLVED_LINE}" in lines
    assert f"  {MISSING_LINE}" in lines
    engine = make_engine(f"sqlite:///{tmp_path / 'dks.db'}")
    try:
        stored = _stored(engine, resolved)
        assert (stored.status, stored.resolved_by_import, stored.status_by) == (
            "changed",
            "turneplan-v2.csv",
            None,
        )
    finally:
        engine.dispose()
