"""`/dks admin`: coordinators add and remove coordinators by escaped mention; the change
decides who may write, it is audited, and members cannot promote themselves."""

from __future__ import annotations

from slack_sdk import WebClient
from sqlmodel import select

from handlers.admin.commands import mentioned_users
from handlers.core.roles import RoleChecker
from storage.db import session_scope
from storage.models import AuditEntry, Contact
from storage.workspaces import listed_coordinators
from tests.conftest import ADMIN, MEMBER, TEAM
from tests.helpers import assert_valid_message, seeded_workspace, visible_text
from tests.test_editing import latest_view, slash, submit, wait_for_call

OTHER = "U0OTHER"


def test_mentions_are_read_from_slacks_escaped_form():
    text = f"legg til <@{MEMBER}|per> og <@W0GRID> <@{MEMBER}> @kari <#C0DKS|dks>"
    assert mentioned_users(text) == [MEMBER, "W0GRID"]


def test_a_coordinator_adds_and_removes_coordinators(slack, sqlite_engine, fake_slack):
    seeded_workspace(sqlite_engine, TEAM)
    fake_slack.add_user(OTHER, "Ola Kulturkontakt")
    roles = RoleChecker(sqlite_engine)
    client = WebClient(token="xoxb-test", base_url=fake_slack.api_url)

    # A member cannot promote anyone, themselves included.
    reply = slack.command(f"admin legg til <@{MEMBER}|per>", user=MEMBER)
    assert_valid_message(reply)
    assert "Bare koordinatorer kan legge til" in visible_text(reply)
    assert not roles.is_coordinator(client=client, team_id=TEAM, user_id=MEMBER)

    reply = slack.command(f"admin legg til <@{MEMBER}|per> <@{OTHER}|ola>")
    assert_valid_message(reply)
    assert f"<@{MEMBER}>, <@{OTHER}> er nå koordinator" in visible_text(reply)
    assert roles.is_coordinator(client=client, team_id=TEAM, user_id=MEMBER)

    # The new coordinator can now open the modal a member could not.
    opened = len(fake_slack.calls_to("views.open"))
    assert slash(slack, "ny frist", user=MEMBER) == ""
    wait_for_call(slack, "views.open", opened)
    assert latest_view(slack)["title"]["text"] == "Ny frist"

    listing = visible_text(slack.command("admin", user=OTHER))
    assert f"<@{MEMBER}>" in listing and "Administratorer og eiere" in listing

    again = visible_text(slack.command(f"admin legg til <@{MEMBER}>"))
    assert "var allerede koordinator" in again

    reply = slack.command(f"admin fjern <@{MEMBER}> <@{ADMIN}>", user=OTHER)
    text = visible_text(reply)
    assert f"<@{MEMBER}> er ikke lenger på lista" in text
    assert f"<@{ADMIN}> stod ikke på lista" in text
    assert f"<@{ADMIN}> er administrator i Slack-arbeidsområdet" in text
    assert not roles.is_coordinator(client=client, team_id=TEAM, user_id=MEMBER)
    with session_scope(sqlite_engine) as session:
        assert list(listed_coordinators(session=session, team_id=TEAM)) == [OTHER]
        entries = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()  # type: ignore[arg-type]
        assert [(e.action, e.summary, e.user_id) for e in entries] == [
            ("add", MEMBER, ADMIN),
            ("add", OTHER, ADMIN),
            ("remove", MEMBER, OTHER),
        ]


def test_admin_explains_what_it_needs(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    text = visible_text(slack.command("admin legg til kari"))
    assert "Jeg fant ingen person" in text and "/dks admin legg til @kari" in text
    text = visible_text(slack.command("admin forfrem <@U0X>"))
    assert "Jeg forstod ikke «forfrem" in text


def test_a_removed_coordinators_crafted_edit_is_refused(slack, sqlite_engine, fake_slack):
    seeded_workspace(sqlite_engine, TEAM)
    slack.command(f"admin legg til <@{MEMBER}>")
    assert slash(slack, "ny kontakt", user=MEMBER) == ""
    wait_for_call(slack, "views.open", 0)
    modal = latest_view(slack)
    slack.command(f"admin fjern <@{MEMBER}>")
    # The modal was opened while allowed; submitting it after removal is refused.
    ack = submit(slack, modal, {"name": "Kari", "role": "rektor"}, user=MEMBER)
    assert ack is not None and "Bare koordinatorer" in visible_text(ack["view"])
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(Contact)).all() == []


def test_admin_replies_agree_with_the_count_in_bokmal_and_nynorsk(slack, sqlite_engine, fake_slack):
    from storage.workspaces import set_workspace_language

    seeded_workspace(sqlite_engine, TEAM)
    fake_slack.add_user(OTHER, "Ola Kulturkontakt")
    one = visible_text(slack.command(f"admin legg til <@{MEMBER}>"))
    assert one == f":white_check_mark: <@{MEMBER}> er nå koordinator."
    both = visible_text(slack.command(f"admin legg til <@{MEMBER}> <@{OTHER}>"))
    assert both == (
        f":white_check_mark: <@{OTHER}> er nå koordinator.\n<@{MEMBER}> var allerede koordinator."
    )
    again = visible_text(slack.command(f"admin add <@{MEMBER}> <@{OTHER}>"))
    assert again == f"<@{MEMBER}>, <@{OTHER}> var allerede koordinatorer."

    with session_scope(sqlite_engine, write=True) as session:
        set_workspace_language(session=session, team_id=TEAM, language="nn")
    removed = visible_text(slack.command(f"admin fjern <@{MEMBER}> <@{OTHER}>"))
    assert removed == (
        f":white_check_mark: <@{MEMBER}>, <@{OTHER}> er ikkje lenger på lista over koordinatorar."
    )
    added = visible_text(slack.command(f"admin legg til <@{MEMBER}> <@{OTHER}>"))
    assert added == f":white_check_mark: <@{MEMBER}>, <@{OTHER}> er no koordinatorar."
    listing = visible_text(slack.command("admin", user=MEMBER))
    assert listing.startswith("*Koordinatorar* kan endre fristar, møte, kontaktar og skular")
    assert "Eg forstod ikkje «forfrem" in visible_text(slack.command("admin forfrem <@U0X>"))
    refused = visible_text(slack.command(f"admin fjern <@{ADMIN}>", user="U0NOBODY"))
    assert refused.startswith("Berre koordinatorar kan leggje til eller fjerne koordinatorar.")


def test_the_retention_counts_days_in_each_language():
    from handlers.admin.privacy import retention_sentence
    from handlers.core.i18n import use_language

    assert retention_sentence(1).startswith("Data om arbeidsområdet slettes 1 dag etter")
    assert retention_sentence(30).startswith("Data om arbeidsområdet slettes 30 dager etter")
    with use_language("nn"):
        assert retention_sentence(1).startswith("Data om arbeidsområdet blir sletta 1 dag etter")
        assert retention_sentence(2).startswith("Data om arbeidsområdet blir sletta 2 dagar")
        assert "innan ein time" in retention_sentence(0)
    with use_language("en"):
        assert retention_sentence(1).startswith("The workspace's data is deleted 1 day after")
