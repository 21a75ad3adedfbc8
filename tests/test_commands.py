"""Scenario tests: signed slash commands through the real HTTP endpoint, as Slack sends them."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from datetime import time as clock_time

from bot.shell.signing import block_actions_body, button_action, signed_headers
from handlers.calendar.views import DEADLINES_MORE_ACTION, MORE_BLOCK_ID
from storage.models import DatePrecision, MeetingForm
from tests.conftest import ADMIN, CHANNEL, TEAM
from tests.helpers import (
    add_contact,
    add_deadline,
    add_meeting,
    assert_valid_message,
    seeded_workspace,
    visible_text,
)

TODAY = date(2026, 11, 24)


def test_frist_in_a_new_workspace_shows_the_bundled_reporting_deadline(slack):
    reply = slack.command("frist")
    assert_valid_message(reply)
    assert reply["response_type"] == "ephemeral"
    text = visible_text(reply)
    assert "Frister de neste 90 dagene" in text
    assert "12. februar 2027" in text
    assert "om 80 dager" in text
    assert "forventet dato" in text  # the 2027 date is expected until a coordinator confirms it
    assert "Uten dato ennå" in text


def test_frist_says_how_far_away_and_shows_five(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    add_deadline(sqlite_engine, TEAM, "Evalueringsskjema", TODAY - timedelta(days=2))
    add_deadline(sqlite_engine, TEAM, "Turnéplan-svar", TODAY, link="https://example.no/a?b=1&c=2")
    add_deadline(
        sqlite_engine,
        TEAM,
        "Påmelding",
        TODAY + timedelta(days=1),
        description="Husk <alle> skoler & SFO",
    )
    add_deadline(
        sqlite_engine, TEAM, "Budsjett", TODAY + timedelta(days=14), audience="kommunekontakt"
    )
    add_deadline(sqlite_engine, TEAM, "Plan", TODAY + timedelta(days=30))
    add_deadline(sqlite_engine, TEAM, "Rapport", TODAY + timedelta(days=60))
    add_deadline(sqlite_engine, TEAM, "Langt fram", TODAY + timedelta(days=200))
    add_deadline(sqlite_engine, TEAM, "For lenge siden", TODAY - timedelta(days=30))

    reply = slack.command("frist")
    assert_valid_message(reply)
    text = visible_text(reply)
    assert "forfalt for 2 dager siden" in text
    assert "Turnéplan-svar" in text and "i dag" in text
    assert "i morgen" in text and "om 14 dager" in text
    assert "Husk &lt;alle&gt; skoler &amp; SFO" in text
    assert "<https://example.no/a?b=1&amp;c=2|Åpne lenke>" in text
    assert "Gjelder: kommunekontakt" in text
    assert "Rapport" not in text  # only five are shown…
    assert "Viser 5 av 6" in text  # …and the user is told there are more
    assert "Langt fram" not in text and "For lenge siden" not in text


def test_frist_search_is_accent_insensitive_and_says_when_nothing_matches(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    add_deadline(sqlite_engine, TEAM, "Årsrapport til fylket", TODAY + timedelta(days=10))
    add_deadline(sqlite_engine, TEAM, "Søknad Kulturskole 3.0", TODAY + timedelta(days=12))

    text = visible_text(slack.command("frist arsrapport"))
    assert "Årsrapport til fylket" in text and "Søknad" not in text

    reply = slack.command("frist svømming")
    assert_valid_message(reply)
    assert "Fant ingen kommende frister som passer «svømming»" in visible_text(reply)


def test_frist_alle_pages_with_a_button_that_works(slack, sqlite_engine, fake_slack):
    seeded_workspace(sqlite_engine, TEAM)
    for i in range(40):
        add_deadline(sqlite_engine, TEAM, f"Frist nummer {i:02d}", TODAY + timedelta(days=i * 20))

    reply = slack.command("frist alle")
    assert_valid_message(reply)
    text = visible_text(reply)
    assert "Frist nummer 00" in text and "Frist nummer 14" in text
    assert "Frist nummer 15" not in text
    assert "Viser 1–15 av 40" in text
    actions = [b for b in reply["blocks"] if b["type"] == "actions"]
    button = actions[0]["elements"][0]
    assert button["action_id"] == DEADLINES_MORE_ACTION
    assert "25 til" in button["text"]["text"]

    response_url = fake_slack.response_url()
    body = block_actions_body(
        team_id=TEAM,
        user_id=ADMIN,
        channel_id=CHANNEL,
        response_url=response_url,
        action=button_action(button),
        block_id=MORE_BLOCK_ID,
    )
    assert slack.post(body).status_code == 200
    assert fake_slack.wait_for(lambda: len(fake_slack.responses) == 1)
    _, page_two = fake_slack.responses[0]
    assert page_two["replace_original"] is True
    assert_valid_message(page_two)
    text = visible_text(page_two)
    assert "Frist nummer 15" in text and "Frist nummer 29" in text
    assert "Frist nummer 14" not in text
    assert "Viser 16–30 av 40" in text


def test_yearly_deadline_shows_next_years_date_without_edits(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    add_deadline(
        sqlite_engine,
        TEAM,
        "Rapportering",
        date(2021, 2, 12),
        rrule="FREQ=YEARLY",
        confirmed_until=date(2027, 2, 12),
    )
    text = visible_text(slack.command("frist"))
    assert "12. februar 2027" in text and "forventet" not in text


def test_mote_shows_time_place_and_form(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    add_meeting(
        sqlite_engine,
        TEAM,
        "Kulturkontaktmøte vår",
        TODAY + timedelta(days=3),
        start_time=clock_time(9, 0),
        end_time=clock_time(11, 30),
        place="Rådhuset, møterom 2",
        form=MeetingForm.PHYSICAL,
        kind="kulturkontaktmøte",
    )
    add_meeting(
        sqlite_engine,
        TEAM,
        "Fellessamling",
        TODAY + timedelta(days=20),
        end_date=TODAY + timedelta(days=21),
        form=MeetingForm.DIGITAL,
        kind="fellessamling",
    )
    add_meeting(
        sqlite_engine,
        TEAM,
        "Veiledning",
        date(2027, 1, 1),
        precision=DatePrecision.MONTH,
        form=MeetingForm.DIGITAL,
    )
    add_meeting(sqlite_engine, TEAM, "Fylkets nettverksmøte", None, precision=DatePrecision.UNSET)

    reply = slack.command("møte")
    assert_valid_message(reply)
    text = visible_text(reply)
    assert "Møter de neste 90 dagene" in text
    assert "27. november 2026, kl. 09:00–11:30" in text and "om 3 dager" in text
    assert "fysisk oppmøte" in text and "Rådhuset, møterom 2" in text
    assert "mandag 14. desember – tirsdag 15. desember 2026" in text and "digitalt" in text
    assert "januar 2027" in text
    assert "Uten dato ennå (møter): Fylkets nettverksmøte" in text
    # «mote» without ø reaches the same subcommand
    assert visible_text(slack.command("mote")) == text


def test_kontakt_search_folds_norwegian_letters(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    add_contact(
        sqlite_engine,
        TEAM,
        name="Åse Nilsen",
        role="kulturkontakt",
        email="ase@skole.no",
        phone="98495340",
        school="Nordby skole",
        municipality="Ås",
    )
    add_contact(
        sqlite_engine,
        TEAM,
        name="Ola Berg",
        role="kommunekontakt",
        organisation="Østfold fylkeskommune",
    )

    reply = slack.command("kontakt aase")
    assert_valid_message(reply)
    text = visible_text(reply)
    assert "Åse Nilsen" in text and "Ola Berg" not in text
    assert "<mailto:ase@skole.no|ase@skole.no>" in text
    assert "<tel:+4798495340|98495340>" in text
    assert "Nordby skole, Ås" in text

    assert "Ola Berg" in visible_text(slack.command("kontakt ostfold"))
    assert "Åse Nilsen" in visible_text(slack.command("kontakt NORDBY"))  # school, any case
    assert "Åse Nilsen" in visible_text(slack.command("kontakt kulturkontakt ås"))

    none = slack.command("kontakt Trondheim")
    assert_valid_message(none)
    text = visible_text(none)
    assert "Fant ingen kontakter som passer «Trondheim»" in text
    assert "kommunekontakt" in text and "kulturkontakt" in text  # roles one can search for


def test_bundled_contacts_are_searchable(slack):
    text = visible_text(slack.command("kontakt ksys"))
    assert "support@ksys.no" in text
    viken = visible_text(slack.command("kontakt viken"))
    assert "Øvergaard" in viken and "2024" in viken  # historical, and says why


def test_help_and_unknown_subcommand_list_every_subcommand(slack):
    for text in ("hjelp", "", "tull og tøys"):
        reply = slack.command(text)
        assert_valid_message(reply)
        shown = visible_text(reply)
        for sub in ("/dks frist", "/dks møte", "/dks kontakt", "/dks hjelp"):
            assert sub in shown
        assert "Eksempel" in shown
    assert "Jeg kjenner ikke «tull»" in visible_text(slack.command("tull og tøys"))


def test_empty_workspace_gets_a_clear_reply(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    for sub, expected in (("frist", "ingen frister lagt inn"), ("møte", "ingen møter lagt inn")):
        reply = slack.command(sub)
        assert_valid_message(reply)
        assert expected in visible_text(reply)
    assert "Roller du kan søke på: ingen ennå" in visible_text(slack.command("kontakt"))


def test_long_and_odd_input_gets_a_valid_reply(slack):
    odd = [
        "frist " + "ø" * 3000,
        "kontakt " + "x" * 3000,
        "kontakt <script>*fet*_kursiv_ `kode` %_\\",
        "møte 👩‍🎤 \u202eevil\u200b Ǻ",
        "kontakt \x00\x07",
    ]
    for text in odd:
        reply = slack.command(text)
        assert_valid_message(reply)
    text = visible_text(slack.command("kontakt <script>"))
    assert "&lt;script&gt;" in text and "<script>" not in text


def test_forged_and_stale_signatures_get_401(slack, fake_slack):
    body = slack.command_body("frist")
    forged = signed_headers("not-the-secret", body)
    assert slack.post(body, headers=forged).status_code == 401
    stale = signed_headers(
        slack.settings.slack_signing_secret, body, timestamp=int(time.time()) - 6 * 60
    )
    assert slack.post(body, headers=stale).status_code == 401
    assert (
        slack.post(body, headers={"content-type": "application/x-www-form-urlencoded"}).status_code
        == 401
    )
    assert slack.post(body).status_code == 200


def test_a_broken_database_gives_a_friendly_message_not_an_error(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE deadline")
    reply = slack.command("frist")
    assert_valid_message(reply)
    text = visible_text(reply)
    assert "Noe gikk galt" in text and "Traceback" not in text


def test_healthz_checks_the_database(slack, sqlite_engine):
    ok = slack.http.get(slack.url + "/healthz")
    assert ok.status_code == 200 and ok.json()["database"] == "ok"


def test_every_workspace_sees_only_its_own_data(make_driver, sqlite_engine):
    driver = make_driver(sqlite_engine)
    seeded_workspace(sqlite_engine, TEAM)
    seeded_workspace(sqlite_engine, "T0OTHER")
    add_deadline(sqlite_engine, "T0OTHER", "Hemmelig frist", TODAY + timedelta(days=5))
    assert "Hemmelig frist" not in visible_text(driver.command("frist"))
    assert "Hemmelig frist" in visible_text(driver.command("frist", team="T0OTHER"))


def test_reply_arrives_in_the_ack_with_slack_payload_shape(slack):
    reply = slack.command("frist")
    assert set(reply) == {"response_type", "text", "blocks"}
    json.dumps(reply)


def test_kontakt_shows_a_contact_with_every_field_at_its_longest(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    add_contact(
        sqlite_engine,
        TEAM,
        school="Skole & " + "S" * 190,
        municipality="Kommune <" + "K" * 190,
        name="Åse & " + "N" * 194,
        role="kulturkontakt",
        organisation="<Org> " + "O" * 194,
        email="a&b" + "e" * 300 + "@example.no",
        phone="+47 22 33 44 55",
        purpose="Formål & " + "P" * 491,
        note="Merk <" + "M" * 494,
        slack_user_id="U0LANG",
    )
    reply = slack.command("kontakt åse")
    assert_valid_message(reply)  # the contact's block is a plain dict: Slack's limits still hold
    text = visible_text(reply)
    assert "Åse &amp; NNN" in text and "<mailto:a&amp;b" in text and "<@U0LANG>" in text
    section = next(b for b in reply["blocks"] if b["type"] == "section")
    assert len(section["text"]["text"]) <= 3000


def test_work_after_the_ack_does_not_hold_up_the_reply(slack) -> None:  # type: ignore[no-untyped-def]
    """`/dks tilbakemelding` opens its form after the ack; a slow Slack there must not make
    the command itself slow (the reply would pass Slack's 3 seconds)."""
    fake = slack.fake
    opened_by_slack = fake._api_views_open

    def slow_views_open(args):  # type: ignore[no-untyped-def]
        time.sleep(1.5)
        return opened_by_slack(args)

    fake._api_views_open = slow_views_open
    body = slack.command_body("tilbakemelding")
    started = time.monotonic()
    response = slack.post(body)
    replied_after = time.monotonic() - started
    assert response.status_code == 200 and response.text == ""
    assert replied_after < 1.0
    # The form still opens once Slack answers.
    assert fake.wait_for(lambda: any(v for v in fake.views.values()), timeout=5)
    assert len(fake.calls_to("views.open")) == 1
