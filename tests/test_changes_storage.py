"""Change-request rounds in storage (storage.changes), on SQLite and PostgreSQL: opening a
round, who may file for which school, field errors with nothing half-stored, the closing date,
the coordinator's statuses and the follow-ups an answer cancels."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import col, func, select

from storage import audit
from storage.changes import (
    FOLLOWUP_KIND,
    HasRequests,
    InvalidInput,
    NotYourSchool,
    RequestDecided,
    RoundClosed,
    RoundStillOpen,
    file_request,
    mark_no_changes,
    may_act_for,
    open_round,
    performances_of,
    requests_in_round,
    round_since,
    schools_in_round,
    schools_of,
    set_status,
    unanswered_schools,
    update_request,
    validate_request,
    withdraw_request,
)
from storage.db import session_scope
from storage.models import (
    ChangeAnswer,
    ChangeRequest,
    ChangeRound,
    Deadline,
    OutboxMessage,
    OutboxState,
)
from storage.workspaces import set_workspace_language
from tests.changes_world import (
    CLOSING,
    COORDINATOR,
    KARI,
    NOW,
    OLA,
    OSLO,
    STRANGER,
    TEAM,
    build_world,
    opened_round,
    request_input,
)

AFTER_CLOSING = NOW + timedelta(days=11)  # Saturday 5 December


@pytest.fixture
def world(engine: Engine) -> dict[str, int]:
    return build_world(engine)


def _followups(engine: Engine, school_id: int, state: str = OutboxState.PENDING.value) -> list:
    with session_scope(engine) as session:
        stmt = select(OutboxMessage).where(
            col(OutboxMessage.kind) == FOLLOWUP_KIND, col(OutboxMessage.state) == state
        )
        return [m for m in session.exec(stmt) if m.payload.get("school_id") == school_id]


def _count(engine: Engine, model: type) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


# --- Opening a round ----------------------------------------------------------------------------


def test_a_round_is_a_deadline_with_reminders_and_lists_the_schools_with_performances(
    engine: Engine, world: dict[str, int]
) -> None:
    opened = opened_round(engine)
    with session_scope(engine) as session:
        deadline = session.get(Deadline, opened.deadline_id)
        assert deadline is not None
        assert (deadline.title, deadline.due_date) == ("Endringsønsker til turnéplanen", CLOSING)
        assert opened.round.deadline_id == deadline.id
    names = [s.school.name for s in opened.schools]
    # Kroer's only performance was before the round: not asked.
    assert names == ["Vestby skole", "Brekke skole", "Nordby skole", "Ås ungdomsskole"]
    by_name = {s.school.name: s for s in opened.schools}
    assert by_name["Ås ungdomsskole"].kulturkontakt_users == (KARI,)
    assert by_name["Ås ungdomsskole"].performances == 2
    assert [s.school.name for s in opened.without_kulturkontakt] == ["Vestby skole"]
    # Two follow-ups per school: Friday 27 November and Wednesday 2 December, 09:00 in Oslo.
    assert opened.followups == 8
    days = sorted(
        {
            m.due_at.astimezone(OSLO).replace(tzinfo=None)
            for m in _followups(engine, world["Brekke skole"])
        }
    )
    assert [d.isoformat() for d in days] == ["2026-11-27T09:00:00", "2026-12-02T09:00:00"]
    assert {m.target for m in _followups(engine, world["Brekke skole"])} == {OLA}


def test_the_deadline_title_is_in_the_workspace_language(
    engine: Engine, world: dict[str, int]
) -> None:
    with session_scope(engine, write=True) as session:
        set_workspace_language(session=session, team_id=TEAM, language="en")
    opened = opened_round(engine)
    with session_scope(engine) as session:
        deadline = session.get(Deadline, opened.deadline_id)
        assert deadline is not None and deadline.title == "Change requests for the tour plan"


def test_a_short_round_skips_follow_ups_whose_time_has_passed(
    engine: Engine, world: dict[str, int]
) -> None:
    # Closing Monday 30 November: five working days before is already past; two is Thursday.
    opened = opened_round(engine, closing=date(2026, 11, 30))
    assert opened.followups == 4
    (only,) = _followups(engine, world["Nordby skole"])
    assert only.due_at.astimezone(OSLO).date() == date(2026, 11, 26)


@pytest.mark.parametrize(
    ("closing", "words"),
    [
        (date(2026, 11, 24), "etter i dag"),
        (date(2026, 11, 1), "etter i dag"),
        (date(2028, 1, 1), "ett år"),
    ],
)
def test_a_bad_closing_date_stores_nothing(
    engine: Engine, world: dict[str, int], closing: date, words: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        opened_round(engine, closing=closing)
    assert words in raised.value.errors["closing_date"]
    assert _count(engine, ChangeRound) == _count(engine, Deadline) == 0


def test_no_round_without_performances_ahead(engine: Engine, world: dict[str, int]) -> None:
    with pytest.raises(InvalidInput) as raised:
        opened_round(engine, now=NOW + timedelta(days=80), closing=date(2027, 2, 26))
    assert "Importer den nye turnéplanen" in raised.value.errors["closing_date"]
    assert _count(engine, ChangeRound) == _count(engine, Deadline) == 0


def test_one_round_at_a_time(engine: Engine, world: dict[str, int]) -> None:
    first = opened_round(engine)
    with pytest.raises(RoundStillOpen) as raised:
        opened_round(engine, closing=date(2026, 12, 11))
    assert (raised.value.round_id, raised.value.closing_date) == (first.round.id, CLOSING)
    # Once it has closed, the next may open.
    later = opened_round(engine, now=AFTER_CLOSING, closing=date(2026, 12, 18))
    assert later.round.id != first.round.id


# --- Who may act for which school ---------------------------------------------------------------


def test_a_kulturkontakt_serves_every_school_they_are_linked_to(
    engine: Engine, world: dict[str, int]
) -> None:
    with session_scope(engine) as session:
        assert [s.name for s in schools_of(session=session, team_id=TEAM, user_id=KARI)] == [
            "Nordby skole",
            "Ås ungdomsskole",
        ]
        assert [s.label for s in schools_of(session=session, team_id=TEAM, user_id=OLA)] == [
            "Brekke skole (Ås)"
        ]
        # A rektor is not a kulturkontakt.
        assert schools_of(session=session, team_id=TEAM, user_id=STRANGER) == []
        brekke = world["Brekke skole"]
        assert not may_act_for(
            session=session, team_id=TEAM, user_id=KARI, school_id=brekke, as_coordinator=False
        )
        assert may_act_for(
            session=session, team_id=TEAM, user_id=KARI, school_id=brekke, as_coordinator=True
        )


def test_only_the_schools_own_kulturkontakt_or_a_coordinator_files(
    engine: Engine, world: dict[str, int]
) -> None:
    round_id = opened_round(engine).round.id
    with session_scope(engine, write=True) as session:
        data = request_input(session, world["Brekke skole"], "BR-1")
        for user in (KARI, STRANGER):
            with pytest.raises(NotYourSchool):
                file_request(
                    session=session,
                    team_id=TEAM,
                    round_id=round_id,
                    data=data,
                    user_id=user,
                    as_coordinator=False,
                    now=NOW,
                    tz=OSLO,
                )
    assert _count(engine, ChangeRequest) == 0
    # A coordinator files for Vestby, whose kulturkontakt is not on Slack.
    with session_scope(engine, write=True) as session:
        line = file_request(
            session=session,
            team_id=TEAM,
            round_id=round_id,
            data=request_input(
                session,
                world["Vestby skole"],
                "VE-1",
                reason="venue",
                wished_date=None,
                comment="Gymsalen pusses opp.",
            ),
            user_id=COORDINATOR,
            as_coordinator=True,
            now=NOW,
            tz=OSLO,
        )
    assert (line.school.name, line.external_key, line.status) == ("Vestby skole", "VE-1", "new")


# --- Filing, with field errors and nothing half-stored -------------------------------------------


def _file(engine: Engine, round_id: int, school_id: int, key: str, user: str = KARI, **fields):
    with session_scope(engine, write=True) as session:
        return file_request(
            session=session,
            team_id=TEAM,
            round_id=round_id,
            data=request_input(session, school_id, key, **fields),
            user_id=user,
            as_coordinator=False,
            now=NOW,
            tz=OSLO,
        )


def test_filing_keeps_the_performance_as_it_was_answers_and_stops_that_schools_follow_ups(
    engine: Engine, world: dict[str, int]
) -> None:
    round_id = opened_round(engine).round.id
    school = world["Ås ungdomsskole"]
    line = _file(engine, round_id, school, "AS-1", wished_time=time(9, 0))
    assert (line.production_title, line.day, line.start) == (
        "Fyrvokterens dagbok",
        date(2026, 12, 3),
        time(10, 0),
    )
    assert (line.wished_date, line.wished_time, line.reason) == (
        date(2026, 12, 10),
        time(9, 0),
        "day_off",
    )
    assert _followups(engine, school) == []
    assert len(_followups(engine, school, OutboxState.CANCELLED.value)) == 2
    # Nordby, the same kulturkontakt's other school, is still asked.
    assert len(_followups(engine, world["Nordby skole"])) == 2
    with session_scope(engine) as session:
        lines = {
            s.school.name: s
            for s in schools_in_round(session=session, team_id=TEAM, round_id=round_id, tz=OSLO)
        }
        assert (lines["Ås ungdomsskole"].answer, lines["Ås ungdomsskole"].requests) == (
            "changes",
            1,
        )
        assert [
            s.school.name
            for s in unanswered_schools(session=session, team_id=TEAM, round_id=round_id, tz=OSLO)
        ] == ["Vestby skole", "Brekke skole", "Nordby skole"]
        entries = audit.entries_for(session=session, team_id=TEAM, item_kind="change_request")
        assert [(e.action, e.user_id) for e in entries] == [("create", KARI)]


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"reason": None}, "reason", "Velg en grunn"),
        ({"reason": "kake"}, "reason", "Velg en grunn"),
        ({"performance_id": None}, "performance", "Velg forestillingen"),
        ({"wished_week": 50}, "wished_week", "enten en dato eller en uke"),
        ({"wished_date": date(2026, 11, 20)}, "wished_date", "har vært"),
        ({"wished_date": date(2026, 12, 3)}, "wished_date", "allerede denne dagen"),
        ({"wished_date": None, "wished_week": 54}, "wished_week", "fra 1 til 53"),
        # 2026 has a week 53, 2027 and 2028 have not (AS-2 is in January 2027).
        ({"_key": "AS-2", "wished_date": None, "wished_week": 53}, "wished_week", "Uke 53 finnes"),
        ({"wished_date": None, "wished_time": time(9, 0)}, "wished_time", "trenger en dato"),
        ({"reason": "other", "comment": "  "}, "comment", "«annet»"),
        ({"comment": "x" * 1001}, "comment", "1000 tegn"),
        ({"contact_person": "x" * 201}, "contact_person", "200 tegn"),
    ],
)
def test_every_bad_field_gets_its_error_and_nothing_is_stored(
    engine: Engine, world: dict[str, int], fields: dict, field: str, words: str
) -> None:
    round_id = opened_round(engine).round.id
    school = world["Ås ungdomsskole"]
    fields = dict(fields)
    key = fields.pop("_key", "AS-1")
    with pytest.raises(InvalidInput) as raised:
        _file(engine, round_id, school, key, **fields)
    assert words in raised.value.errors[field]
    assert _count(engine, ChangeRequest) == _count(engine, ChangeAnswer) == 0
    assert len(_followups(engine, school)) == 2
    with session_scope(engine) as session:
        assert (
            validate_request(
                session=session,
                team_id=TEAM,
                round_id=round_id,
                data=request_input(session, school, key, **fields),
                now=NOW,
                tz=OSLO,
            )
            == raised.value.errors
        )


def test_a_performance_of_another_school_or_a_second_request_for_one_is_refused(
    engine: Engine, world: dict[str, int]
) -> None:
    round_id = opened_round(engine).round.id
    school = world["Ås ungdomsskole"]
    with pytest.raises(InvalidInput) as raised:
        _file(engine, round_id, school, "NO-1")
    assert raised.value.errors == {
        "performance": "Forestillingen er ikke på Ås ungdomsskole. Velg en av skolens."
    }
    with pytest.raises(InvalidInput) as raised:
        _file(engine, round_id, school, "KR-1")  # before the round, and another school's
    assert "finnes ikke i turnéplanen" in raised.value.errors["performance"]
    _file(engine, round_id, school, "AS-1")
    with pytest.raises(InvalidInput) as raised:
        _file(engine, round_id, school, "AS-1", wished_date=date(2026, 12, 11))
    assert "allerede meldt en endring" in raised.value.errors["performance"]
    assert _count(engine, ChangeRequest) == 1


def test_a_week_wish_is_any_day_of_that_week(engine: Engine, world: dict[str, int]) -> None:
    round_id = opened_round(engine).round.id
    line = _file(
        engine, round_id, world["Ås ungdomsskole"], "AS-2", wished_date=None, wished_week=4
    )
    assert (line.wished_week, line.wished_year, line.wished_date) == (4, 2027, None)


def test_field_errors_come_in_the_users_language(engine: Engine, world: dict[str, int]) -> None:
    from handlers.core.i18n import use_language

    round_id = opened_round(engine).round.id
    with use_language("nn"), pytest.raises(InvalidInput) as raised:
        _file(engine, round_id, world["Ås ungdomsskole"], "AS-1", reason=None)
    assert raised.value.errors["reason"] == "Vel ein grunn."


def test_the_form_offers_the_schools_performances_in_the_round(
    engine: Engine, world: dict[str, int]
) -> None:
    round_ = opened_round(engine).round
    with session_scope(engine) as session:
        found = performances_of(
            session=session,
            team_id=TEAM,
            school_id=world["Ås ungdomsskole"],
            since=round_since(round_, OSLO),
        )
    assert [p.external_key for p in found] == ["AS-1", "AS-2"]


# --- Editing, withdrawing, «alt ser bra ut» and the closing date ---------------------------------


def test_edit_and_withdraw_until_the_closing_date_then_refused(
    engine: Engine, world: dict[str, int]
) -> None:
    round_id = opened_round(engine).round.id
    school = world["Ås ungdomsskole"]
    line = _file(engine, round_id, school, "AS-1")
    other = _file(engine, round_id, school, "AS-2", wished_date=date(2027, 1, 21))
    last_day = NOW + timedelta(days=10)  # Friday 4 December, the closing date itself
    with session_scope(engine, write=True) as session:
        edited = update_request(
            session=session,
            team_id=TEAM,
            request_id=line.id,
            data=request_input(session, school, "AS-1", wished_date=date(2026, 12, 17)),
            user_id=KARI,
            as_coordinator=False,
            now=last_day,
            tz=OSLO,
        )
    assert edited.wished_date == date(2026, 12, 17)
    with session_scope(engine, write=True) as session:
        data = request_input(session, school, "AS-1", wished_date=date(2026, 12, 18))
        with pytest.raises(RoundClosed) as raised:
            update_request(
                session=session,
                team_id=TEAM,
                request_id=line.id,
                data=data,
                user_id=KARI,
                as_coordinator=False,
                now=AFTER_CLOSING,
                tz=OSLO,
            )
        assert raised.value.closing_date == CLOSING
        with pytest.raises(RoundClosed):
            withdraw_request(
                session=session,
                team_id=TEAM,
                request_id=other.id,
                user_id=KARI,
                as_coordinator=False,
                now=AFTER_CLOSING,
                tz=OSLO,
            )
        with pytest.raises(RoundClosed):
            file_request(
                session=session,
                team_id=TEAM,
                round_id=round_id,
                data=request_input(session, world["Brekke skole"], "BR-1"),
                user_id=OLA,
                as_coordinator=False,
                now=AFTER_CLOSING,
                tz=OSLO,
            )
        with pytest.raises(RoundClosed):
            mark_no_changes(
                session=session,
                team_id=TEAM,
                round_id=round_id,
                school_id=world["Brekke skole"],
                user_id=OLA,
                as_coordinator=False,
                now=AFTER_CLOSING,
                tz=OSLO,
            )
    with session_scope(engine) as session:
        stored = session.get(ChangeRequest, line.id)
        assert stored is not None and stored.wished_date == date(2026, 12, 17)


def test_withdrawing_the_last_request_makes_the_school_unanswered_and_asked_again(
    engine: Engine, world: dict[str, int]
) -> None:
    round_id = opened_round(engine).round.id
    school = world["Brekke skole"]
    line = _file(engine, round_id, school, "BR-1", user=OLA)
    assert _followups(engine, school) == []
    with session_scope(engine, write=True) as session:
        withdrawn = withdraw_request(
            session=session,
            team_id=TEAM,
            request_id=line.id,
            user_id=OLA,
            as_coordinator=False,
            now=NOW,
            tz=OSLO,
        )
    assert withdrawn.status == "withdrawn"
    assert len(_followups(engine, school)) == 2
    with session_scope(engine) as session:
        assert world["Brekke skole"] in [
            s.school.id
            for s in unanswered_schools(session=session, team_id=TEAM, round_id=round_id, tz=OSLO)
        ]
        assert requests_in_round(session=session, team_id=TEAM, round_id=round_id, tz=OSLO) == []
        assert (
            len(
                requests_in_round(
                    session=session,
                    team_id=TEAM,
                    round_id=round_id,
                    tz=OSLO,
                    include_withdrawn=True,
                )
            )
            == 1
        )


def test_all_is_well_answers_once_and_not_beside_requests(
    engine: Engine, world: dict[str, int]
) -> None:
    round_id = opened_round(engine).round.id
    for _ in range(2):
        with session_scope(engine, write=True) as session:
            line = mark_no_changes(
                session=session,
                team_id=TEAM,
                round_id=round_id,
                school_id=world["Nordby skole"],
                user_id=KARI,
                as_coordinator=False,
                now=NOW,
                tz=OSLO,
            )
        assert (line.answer, line.requests) == ("no_changes", 0)
    assert _count(engine, ChangeAnswer) == 1
    assert _followups(engine, world["Nordby skole"]) == []
    _file(engine, round_id, world["Ås ungdomsskole"], "AS-1")
    with session_scope(engine, write=True) as session, pytest.raises(HasRequests):
        mark_no_changes(
            session=session,
            team_id=TEAM,
            round_id=round_id,
            school_id=world["Ås ungdomsskole"],
            user_id=KARI,
            as_coordinator=False,
            now=NOW,
            tz=OSLO,
        )
    # Filing after «alt ser bra ut» changes the answer.
    _file(engine, round_id, world["Nordby skole"], "NO-1", wished_date=date(2026, 12, 11))
    with session_scope(engine) as session:
        lines = {
            s.school.name: s.answer
            for s in schools_in_round(session=session, team_id=TEAM, round_id=round_id, tz=OSLO)
        }
    assert lines["Nordby skole"] == "changes"


# --- The coordinator's statuses -----------------------------------------------------------------


def test_statuses_are_the_coordinators_and_tell_the_school(
    engine: Engine, world: dict[str, int]
) -> None:
    round_id = opened_round(engine).round.id
    line = _file(engine, round_id, world["Ås ungdomsskole"], "AS-1")
    with session_scope(engine, write=True) as session:
        sent = set_status(
            session=session,
            team_id=TEAM,
            request_id=line.id,
            status="sent",
            user_id=COORDINATOR,
            now=NOW,
            tz=OSLO,
        )
        again = set_status(
            session=session,
            team_id=TEAM,
            request_id=line.id,
            status="sent",
            user_id=COORDINATOR,
            now=NOW,
            tz=OSLO,
        )
    assert (sent.previous, sent.request.status, sent.changed, sent.notify) == (
        "new",
        "sent",
        True,
        (KARI,),
    )
    assert (again.changed, again.notify) == (False, ())
    # Sent to the county: the school can no longer change it.
    with session_scope(engine, write=True) as session, pytest.raises(RequestDecided):
        withdraw_request(
            session=session,
            team_id=TEAM,
            request_id=line.id,
            user_id=KARI,
            as_coordinator=False,
            now=NOW,
            tz=OSLO,
        )
    # The coordinator decides after the closing date too.
    with session_scope(engine, write=True) as session:
        done = set_status(
            session=session,
            team_id=TEAM,
            request_id=line.id,
            status="changed",
            user_id=COORDINATOR,
            now=AFTER_CLOSING,
            tz=OSLO,
        )
        assert done.request.status == "changed"
        with pytest.raises(InvalidInput) as raised:
            set_status(
                session=session,
                team_id=TEAM,
                request_id=line.id,
                status="withdrawn",
                user_id=COORDINATOR,
                now=NOW,
                tz=OSLO,
            )
        assert "status" in raised.value.errors
    with session_scope(engine) as session:
        entries = audit.entries_for(session=session, team_id=TEAM, item_kind="change_request")
        assert [(e.action, audit.changes_of(e).get("status")) for e in entries] == [
            ("create", None),
            ("status", ["new", "sent"]),
            ("status", ["sent", "changed"]),
        ]


def test_a_withdrawn_request_has_no_status_to_set(engine: Engine, world: dict[str, int]) -> None:
    round_id = opened_round(engine).round.id
    line = _file(engine, round_id, world["Brekke skole"], "BR-1", user=OLA)
    with session_scope(engine, write=True) as session:
        withdraw_request(
            session=session,
            team_id=TEAM,
            request_id=line.id,
            user_id=OLA,
            as_coordinator=False,
            now=NOW,
            tz=OSLO,
        )
    with session_scope(engine, write=True) as session, pytest.raises(InvalidInput) as raised:
        set_status(
            session=session,
            team_id=TEAM,
            request_id=line.id,
            status="sent",
            user_id=COORDINATOR,
            now=NOW,
            tz=OSLO,
        )
    assert raised.value.errors == {"status": "Skolen har trukket denne endringen."}


def test_another_workspace_sees_nothing(engine: Engine, world: dict[str, int]) -> None:
    round_id = opened_round(engine).round.id
    line = _file(engine, round_id, world["Ås ungdomsskole"], "AS-1")
    with session_scope(engine, write=True) as session:
        from storage.changes import NoRound, RequestNotFound, get_request

        assert get_request(session=session, team_id="T0ANNEN", request_id=line.id, tz=OSLO) is None
        with pytest.raises(RequestNotFound):
            set_status(
                session=session,
                team_id="T0ANNEN",
                request_id=line.id,
                status="sent",
                user_id=COORDINATOR,
                now=NOW,
                tz=OSLO,
            )
        with pytest.raises(NoRound):
            open_round  # noqa: B018 - the name is used below
            schools_in_round(session=session, team_id="T0ANNEN", round_id=round_id, tz=OSLO)


def test_the_overview_agrees_with_the_full_lists(engine: Engine, world: dict[str, int]) -> None:
    from storage.changes import round_overview

    round_id = opened_round(engine).round.id
    first = _file(engine, round_id, world["Ås ungdomsskole"], "AS-1")
    _file(engine, round_id, world["Ås ungdomsskole"], "AS-2", wished_date=date(2027, 1, 21))
    brekke = _file(engine, round_id, world["Brekke skole"], "BR-1", user=OLA)
    with session_scope(engine, write=True) as session:
        set_status(
            session=session,
            team_id=TEAM,
            request_id=first.id,
            status="sent",
            user_id=COORDINATOR,
            now=NOW,
            tz=OSLO,
        )
        set_status(
            session=session,
            team_id=TEAM,
            request_id=brekke.id,
            status="rejected",
            user_id=COORDINATOR,
            now=NOW,
            tz=OSLO,
        )
        mark_no_changes(
            session=session,
            team_id=TEAM,
            round_id=round_id,
            school_id=world["Nordby skole"],
            user_id=KARI,
            as_coordinator=False,
            now=NOW,
            tz=OSLO,
        )
    with session_scope(engine) as session:
        seen = round_overview(session=session, team_id=TEAM, round_id=round_id, tz=OSLO, limit=2)
        schools = schools_in_round(session=session, team_id=TEAM, round_id=round_id, tz=OSLO)
    assert (seen.schools, seen.changes, seen.no_changes, seen.silent, seen.requests) == (
        len(schools),
        2,
        1,
        1,
        3,
    )
    assert [s.name for s in seen.silent_schools] == ["Vestby skole"]
    # «ny» first, then «sendt til fylket»; the rejected one is past the limit.
    assert [(r.external_key, r.status) for r in seen.first] == [("AS-2", "new"), ("AS-1", "sent")]
