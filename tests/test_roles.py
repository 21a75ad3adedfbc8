"""is_coordinator: workspace admins and owners, plus listed people; users.info is cached."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient

from bot.shell.fakeslack import Fault
from handlers.core.roles import RoleChecker
from storage.db import session_scope
from storage.workspaces import add_coordinator, remove_coordinator
from tests.conftest import ADMIN, MEMBER, TEAM


def _client(fake) -> WebClient:  # type: ignore[no-untyped-def]
    return WebClient(token="xoxb-test", base_url=fake.api_url)


def test_admins_and_listed_people_are_coordinators(engine, fake_slack):
    roles = RoleChecker(engine)
    client = _client(fake_slack)
    assert roles.is_coordinator(client=client, team_id=TEAM, user_id=ADMIN)
    assert not roles.is_coordinator(client=client, team_id=TEAM, user_id=MEMBER)
    with session_scope(engine, write=True) as session:
        assert add_coordinator(session=session, team_id=TEAM, user_id=MEMBER, added_by=ADMIN)
        assert not add_coordinator(session=session, team_id=TEAM, user_id=MEMBER)
    assert roles.is_coordinator(client=client, team_id=TEAM, user_id=MEMBER)
    # listing is per workspace
    assert not roles.is_coordinator(client=client, team_id="T0OTHER", user_id=MEMBER)
    with session_scope(engine, write=True) as session:
        assert remove_coordinator(session=session, team_id=TEAM, user_id=MEMBER)
    assert not roles.is_coordinator(client=client, team_id=TEAM, user_id=MEMBER)


def test_users_info_is_cached_until_it_expires(sqlite_engine, fake_slack):
    now = [datetime(2026, 11, 24, tzinfo=UTC)]
    roles = RoleChecker(sqlite_engine, clock=lambda: now[0], ttl_seconds=300)
    client = _client(fake_slack)
    for _ in range(3):
        assert roles.is_workspace_admin(client=client, team_id=TEAM, user_id=ADMIN)
    assert len(fake_slack.calls_to("users.info")) == 1
    now[0] += timedelta(minutes=6)
    assert roles.is_workspace_admin(client=client, team_id=TEAM, user_id=ADMIN)
    assert len(fake_slack.calls_to("users.info")) == 2


def test_a_failed_lookup_denies_but_is_not_cached(sqlite_engine, fake_slack):
    roles = RoleChecker(sqlite_engine)
    client = _client(fake_slack)
    fake_slack.fail("users.info", Fault(error="user_not_visible"))
    assert not roles.is_workspace_admin(client=client, team_id=TEAM, user_id=ADMIN)
    assert roles.is_workspace_admin(client=client, team_id=TEAM, user_id=ADMIN)
