"""The outbox on SQLite and PostgreSQL: idempotent scheduling, cancelling, claiming, leases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from storage.db import session_scope
from storage.models import OutboxMessage, OutboxState
from storage.outbox import (
    cancel_messages,
    claim_due,
    get_message,
    mark_attempting,
    mark_retry,
    mark_sent,
    open_alert,
    schedule_message,
)

TEAM = "T0OUT"
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def schedule(engine, key: str, due: datetime, *, ref: str = "x:1:", target: str = "C1", **kw):  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as session:
        row = schedule_message(
            session=session,
            team_id=TEAM,
            kind=kw.pop("kind", "test"),
            unique_key=key,
            ref=ref,
            due_at=due,
            target=target,
            payload=kw.pop("payload", {"n": key}),
            now=NOW,
            **kw,
        )
        return row.id


def row(engine, message_id: int) -> OutboxMessage:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        found = get_message(session=session, message_id=message_id)
        assert found is not None
        return found


def claim(engine, now: datetime, worker: str = "w1", **kw):  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as session:
        return claim_due(session=session, now=now, worker=worker, lease=LEASE, **kw)


def retry(engine, message_id: int, at: datetime) -> None:  # type: ignore[no-untyped-def]
    """Worker w1 gives its claimed row back for a retry at `at` (Slack said internal_error)."""
    with session_scope(engine, write=True) as session:
        assert mark_retry(
            session=session,
            message_id=message_id,
            worker="w1",
            retry_at=at,
            reason="internal_error",
            needs_check=True,
            now=NOW,
        )


def test_scheduling_is_idempotent_and_moves_pending_rows(engine) -> None:  # type: ignore[no-untyped-def]
    first = schedule(engine, "k1", NOW + timedelta(hours=1))
    again = schedule(engine, "k1", NOW + timedelta(hours=2), target="C2", payload={"n": "moved"})
    assert first == again
    moved = row(engine, first)
    assert moved.due_at == NOW + timedelta(hours=2) == moved.available_at
    assert moved.target == "C2" and moved.payload == {"n": "moved"}
    assert moved.due_at.tzinfo is not None
    with session_scope(engine) as session:
        assert len(session.exec(select(OutboxMessage)).all()) == 1


def test_a_sent_row_is_left_alone(engine) -> None:  # type: ignore[no-untyped-def]
    message_id = schedule(engine, "k1", NOW)
    [claimed] = claim(engine, NOW)
    with session_scope(engine, write=True) as session:
        assert mark_sent(
            session=session, message_id=message_id, worker="w1", channel="C1", ts="1.1", now=NOW
        )
    schedule(engine, "k1", NOW + timedelta(days=1), payload={"n": "late"})
    sent = row(engine, message_id)
    assert sent.state == OutboxState.SENT and sent.ts == "1.1" and sent.due_at == NOW
    assert claimed.id == message_id


def test_cancel_by_prefix_does_not_reach_similar_refs(engine) -> None:  # type: ignore[no-untyped-def]
    a = schedule(engine, "a", NOW, ref="deadline:1:2026-12-01")
    b = schedule(engine, "b", NOW, ref="deadline:12:2026-12-01")
    c = schedule(engine, "c", NOW, ref="deadline:1_:2026-12-01")  # LIKE wildcards are literal
    with session_scope(engine, write=True) as session:
        count = cancel_messages(session=session, team_id=TEAM, ref_prefix="deadline:1:", now=NOW)
        other = cancel_messages(session=session, team_id="T0OTHER", ref_prefix="", now=NOW)
    assert (count, other) == (1, 0)
    assert row(engine, a).state == OutboxState.CANCELLED
    assert row(engine, b).state == row(engine, c).state == OutboxState.PENDING


def test_cancelled_rows_revive_only_when_asked(engine) -> None:  # type: ignore[no-untyped-def]
    message_id = schedule(engine, "k", NOW, ref="r:1:")
    with session_scope(engine, write=True) as session:
        cancel_messages(session=session, team_id=TEAM, ref_prefix="r:1:", reason="done", now=NOW)
    schedule(engine, "k", NOW + timedelta(hours=1))
    assert row(engine, message_id).state == OutboxState.CANCELLED
    schedule(engine, "k", NOW + timedelta(hours=1), revive=True)
    revived = row(engine, message_id)
    assert revived.state == OutboxState.PENDING and revived.error is None
    assert revived.due_at == NOW + timedelta(hours=1)


def test_claim_takes_only_what_is_due_and_holds_it_for_the_lease(engine) -> None:  # type: ignore[no-untyped-def]
    due = schedule(engine, "due", NOW - timedelta(minutes=1))
    schedule(engine, "later", NOW + timedelta(minutes=1))
    claims = claim(engine, NOW)
    assert [c.id for c in claims] == [due]
    assert claims[0].lease_until == NOW + LEASE and claims[0].attempts == 1
    assert not claims[0].needs_check
    assert claim(engine, NOW + timedelta(minutes=2), worker="w2") != []  # "later" only
    assert claim(engine, NOW + LEASE - timedelta(seconds=1), worker="w2") == []
    with session_scope(engine, write=True) as session:
        # Only the holder may record an attempt to post.
        assert mark_attempting(session=session, worker="w2", ids=[due], now=NOW) == set()
        assert mark_attempting(session=session, worker="w1", ids=[due], now=NOW) == {due}
    # The first worker died after trying to post: once its lease is over the row comes back,
    # flagged for a check from its attempt on.
    [again] = claim(engine, NOW + LEASE, worker="w2")
    assert again.id == due and again.needs_check and again.attempts == 2
    assert again.attempted_at == NOW
    with session_scope(engine, write=True) as session:
        # The dead worker's late answer no longer counts.
        assert not mark_sent(
            session=session, message_id=due, worker="w1", channel="C1", ts="1", now=NOW
        )
        assert mark_sent(
            session=session, message_id=due, worker="w2", channel="C1", ts="2", now=NOW
        )
    assert row(engine, due).ts == "2"


def test_a_row_claimed_but_never_attempted_comes_back_without_a_check(engine) -> None:  # type: ignore[no-untyped-def]
    due = schedule(engine, "due", NOW - timedelta(minutes=1))
    [first] = claim(engine, NOW)
    [again] = claim(engine, NOW + LEASE, worker="w2")
    assert again.id == first.id == due
    assert not again.needs_check and again.attempted_at is None


def test_claim_caps_each_target(engine) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        schedule(engine, f"busy{i}", NOW - timedelta(seconds=10 - i), target="CBUSY")
    schedule(engine, "quiet", NOW, target="CQUIET")
    first = claim(engine, NOW, per_target=2)
    assert sorted(c.target for c in first) == ["CBUSY", "CBUSY", "CQUIET"]
    second = claim(engine, NOW, per_target=2)
    assert [c.target for c in second] == ["CBUSY", "CBUSY"]
    assert len(claim(engine, NOW, per_target=2)) == 1


def test_claiming_ahead_takes_only_planned_rows_of_the_kinds_asked(engine) -> None:  # type: ignore[no-untyped-def]
    ahead = {"ahead": timedelta(seconds=5), "ahead_kinds": ["reminder"]}
    due_now = schedule(engine, "now", NOW - timedelta(seconds=1), kind="other")
    soon = schedule(engine, "soon", NOW + timedelta(seconds=4), kind="reminder")
    schedule(engine, "soon-other", NOW + timedelta(seconds=4), kind="other")
    schedule(engine, "later", NOW + timedelta(seconds=6), kind="reminder")
    moved = schedule(engine, "moved", NOW - timedelta(minutes=1), kind="reminder")
    claim(engine, NOW - timedelta(minutes=1))
    retry(engine, moved, NOW + timedelta(seconds=3))
    claims = {c.id: c for c in claim(engine, NOW, **ahead)}
    # Due now: goes now. Planned for 4 s from now: taken, to go out at its time. A retry is
    # not at its planned time, another kind is not asked for, 6 s is beyond the lookahead.
    assert set(claims) == {due_now, soon}
    assert claims[due_now].send_at == NOW
    assert claims[soon].send_at == NOW + timedelta(seconds=4)
    assert claims[soon].due_at == NOW + timedelta(seconds=4)
    # A running lease is never taken early, however close its end.
    lease_ends = NOW + LEASE
    taken = claim(engine, lease_ends - timedelta(seconds=1), worker="w2", **ahead)
    assert {c.id for c in taken}.isdisjoint(claims) and moved in {c.id for c in taken}


def test_retry_keeps_the_row_until_its_time(engine) -> None:  # type: ignore[no-untyped-def]
    message_id = schedule(engine, "k", NOW)
    claim(engine, NOW)
    retry(engine, message_id, NOW + timedelta(seconds=30))
    assert claim(engine, NOW + timedelta(seconds=29)) == []
    # Re-scheduling to an earlier time does not jump the retry queue.
    schedule(engine, "k", NOW)
    assert claim(engine, NOW + timedelta(seconds=29)) == []
    [again] = claim(engine, NOW + timedelta(seconds=30))
    assert again.needs_check and again.attempts == 2


def test_concurrent_claimers_never_share_a_row(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as session:
        for i in range(300):
            schedule_message(
                session=session,
                team_id=TEAM,
                kind="test",
                unique_key=f"k{i}",
                ref="r:",
                due_at=NOW - timedelta(seconds=i),
                target=f"C{i % 30}",
                now=NOW,
            )
    got: dict[str, list[int]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker(name: str) -> None:
        try:
            start.wait()
            mine: list[int] = []
            while batch := claim(engine, NOW, worker=name, limit=25, per_target=3):
                mine.extend(c.id for c in batch)
            got[name] = mine
        except BaseException as err:  # pragma: no cover - shown in the assertion below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    claimed = [i for ids in got.values() for i in ids]
    assert len(claimed) == len(set(claimed)) == 300


def test_an_alert_opens_once_until_cleared(engine) -> None:  # type: ignore[no-untyped-def]
    from storage.outbox import clear_alerts, open_alerts

    with session_scope(engine, write=True) as session:
        first = open_alert(
            session=session,
            team_id=TEAM,
            alert_key="channel:C1",
            reason="not_in_channel",
            channel="C1",
            now=NOW,
        )
        second = open_alert(
            session=session,
            team_id=TEAM,
            alert_key="channel:C1",
            reason="not_in_channel",
            channel="C1",
            now=NOW,
        )
        assert first is not None and second is None
        assert clear_alerts(session=session, team_id=TEAM, now=NOW, channel="C1") == 1
        third = open_alert(
            session=session,
            team_id=TEAM,
            alert_key="channel:C1",
            reason="is_archived",
            channel="C1",
            now=NOW,
        )
        assert third is not None and third.id == first.id
        assert [a.reason for a in open_alerts(session=session, team_id=TEAM)] == ["is_archived"]


def test_naive_instants_are_refused(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule(engine, "naive", datetime(2026, 11, 24, 9, 0))
