"""Data protection (issue 13): a workspace's and one person's data, exported and deleted.

Every table is found here by reflecting the live database, independently of the code under
test, and the seeding fills every one of them for two workspaces: a new table fails these
tests until it is seeded, exported and deleted. The command line runs as a user runs it (the
installed script in a subprocess) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.shell.signing import event_body, signed_headers
from handlers.core.format import mention
from storage import audit
from storage.dataprotection import (
    EXCLUDED_TABLES,
    UnscopedTableError,
    purge_expired_workspaces,
    workspace_tables,
)
from storage.db import session_scope
from storage.feedback import respondent_key
from storage.ics import ensure_feed
from storage.installations import SealedInstallationStore, token_cipher
from storage.models import (
    ChangeAnswer,
    ChangeRequest,
    ChangeRound,
    Contact,
    FeedbackAnswer,
    PendingImport,
    Performance,
    Workspace,
)
from storage.outbox import open_alert, schedule_message
from storage.personal_data import ERASED, unreviewed_columns
from storage.reminders import mark_done, set_reminder_channel
from storage.tourplan import as_utc
from storage.workspaces import (
    add_coordinator,
    get_or_create_workspace,
    mark_installed,
    set_user_language,
    set_workspace_language,
)
from tests.conftest import ADMIN, MEMBER, TEAM
from tests.feedback_helpers import load_world
from tests.helpers import add_contact, add_deadline, add_meeting, visible_text

A, B = "T0KOMMUNEA", "T0KOMMUNEB"
PERSON = "U0PERSON"  # the one asking to see or erase their data
OTHER = "U0ANNEN"  # a colleague, whose data stays
PERSON_EMAIL = "Per.Person@Kommune.no"
NO_SLACK_EMAIL = "ola_nordmann@skole.no"  # a contact without Slack ('_' is a LIKE wildcard)
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SECRET = "s" * 40
DKS_BOT = str(Path(sys.executable).with_name("dks-bot"))
PLAIN_TOKENS = ("xoxb-", "xoxe-", "xoxp-", "hooks.slack.com")


# --- the test's own view of the database ------------------------------------------------------


def reflected(engine: Engine) -> sa.MetaData:
    metadata = sa.MetaData()
    metadata.reflect(bind=engine)
    return metadata


def team_tables(engine: Engine) -> list[sa.Table]:
    """Every table with a team_id column; fails on any other table not explicitly left out."""
    metadata = reflected(engine)
    tables = [t for t in metadata.sorted_tables if "team_id" in t.c]
    others = {t.name for t in metadata.sorted_tables} - {t.name for t in tables}
    assert others == set(EXCLUDED_TABLES), f"tables outside any workspace: {others}"
    return tables


def rows_of(engine: Engine, table: sa.Table, team_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        stmt = sa.select(table).where(table.c.team_id == team_id)
        return [dict(r) for r in conn.execute(stmt).mappings()]


def counts(engine: Engine, team_id: str) -> dict[str, int]:
    return {t.name: len(rows_of(engine, t, team_id)) for t in team_tables(engine)}


def mentions(row: dict[str, Any], needle: str) -> bool:
    return needle.lower() in json.dumps(row, default=str, ensure_ascii=False).lower()


def rows_mentioning(engine: Engine, team_id: str, needle: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for table in team_tables(engine):
        hits = [r for r in rows_of(engine, table, team_id) if mentions(r, needle)]
        if hits:
            found[table.name] = hits
    return found


# --- a workspace with data in every table -----------------------------------------------------


def fill(engine: Engine, team_id: str) -> dict[str, Any]:
    """Rows in every table of `team_id`; PERSON and OTHER both take part."""
    load_world(engine, team_id, NOW)
    deadline = add_deadline(engine, team_id, "Rapport til fylket", date(2026, 12, 10))
    add_meeting(engine, team_id, "Nettverksmøte", date(2027, 1, 14))
    add_contact(
        engine,
        team_id,
        school="Person skole",
        municipality="Personkommune",
        name="Per Person",
        role="Kulturkontakt",
        email=PERSON_EMAIL,
        slack_user_id=PERSON,
        note=f"Tar over for <@{OTHER}> i vår",
    )
    add_contact(
        engine, team_id, name="Ola Nordmann", role="Rektor", email=NO_SLACK_EMAIL, note="=1+1"
    )
    add_contact(engine, team_id, name="Anne Annen", role="Kulturkontakt", slack_user_id=OTHER)
    with session_scope(engine, write=True) as session:
        performances = session.exec(
            select(Performance).where(col(Performance.team_id) == team_id)
        ).all()
        first, second = performances[0], performances[1]
        workspace = get_or_create_workspace(session=session, team_id=team_id)
        set_reminder_channel(
            session=session, workspace=workspace, channel_id="C0DKS", user_id=PERSON, now=NOW
        )
        add_coordinator(session=session, team_id=team_id, user_id=PERSON, added_by=OTHER)
        add_coordinator(session=session, team_id=team_id, user_id=OTHER, added_by=PERSON)
        set_user_language(session=session, team_id=team_id, user_id=PERSON, language="nn")
        set_user_language(session=session, team_id=team_id, user_id=OTHER, language="en")
        mark_done(
            session=session,
            team_id=team_id,
            deadline_id=deadline,
            occurrence=date(2026, 12, 10),
            user_id=PERSON,
            now=NOW,
        )
        audit.record(
            session=session,
            team_id=team_id,
            user_id=OTHER,
            action="add",
            item_kind="coordinator",
            summary=PERSON,
            changes={"user_id": PERSON},
            at=NOW,
        )
        ensure_feed(session=session, team_id=team_id, user_id=PERSON, now=NOW)
        session.add(
            PendingImport(
                id=f"pending-{team_id}",
                team_id=team_id,
                user_id=OTHER,
                filename="kontakter.csv",
                kind="kontakter",
                content=f"navn;epost\nOla Nordmann;{NO_SLACK_EMAIL}\n",
                created_at=NOW,
            )
        )
        # A change-request round (storage.changes): PERSON filed a request, OTHER decided.
        change_round = ChangeRound(
            team_id=team_id,
            closing_date=date(2026, 12, 10),
            deadline_id=deadline,
            opened_by=OTHER,
            opened_at=NOW,
        )
        session.add(change_round)
        session.flush()
        assert change_round.id is not None
        session.add(
            ChangeAnswer(
                team_id=team_id,
                round_id=change_round.id,
                school_id=first.school_id,
                answer="changes",
                answered_by=PERSON,
                answered_at=NOW,
            )
        )
        session.add(
            ChangeRequest(
                team_id=team_id,
                round_id=change_round.id,
                school_id=first.school_id,
                performance_id=first.id,
                external_key=first.external_key,
                production_title="Forestilling",
                starts_at=as_utc(first.starts_at),
                reason="day_off",
                wished_date=date(2026, 12, 3),
                contact_person="Per Person",
                comment="Elevfri dag",
                status="sent",
                filed_by=PERSON,
                filed_at=NOW,
                status_by=OTHER,
                status_at=NOW,
            )
        )
        answers = {
            "named": _answer(team_id, first, user_id=PERSON, comment="Elevene likte det"),
            "anonymous": _answer(team_id, second, user_id=None, comment="Anonymt hjertesukk"),
            "other": _answer(team_id, first, user_id=OTHER, comment="Fin forestilling"),
        }
        for answer in answers.values():
            session.add(answer)
        schedule_message(
            session=session,
            team_id=team_id,
            kind="feedback_prompt",
            unique_key=f"prompt:{first.id}:{PERSON}",
            ref=f"performance:{first.id}:",
            due_at=NOW + timedelta(days=1),
            target=PERSON,
            payload={"performance_id": first.id},
            now=NOW,
        )
        schedule_message(
            session=session,
            team_id=team_id,
            kind="reminder",
            unique_key=f"snooze:{deadline}",
            ref=f"deadline:{deadline}:2026-12-10:",
            due_at=NOW + timedelta(days=2),
            target="C0DKS",
            payload={"item_id": deadline, "snoozed_by": PERSON},
            now=NOW,
        )
        schedule_message(
            session=session,
            team_id=team_id,
            kind="reminder",
            unique_key=f"plain:{deadline}",
            ref=f"deadline:{deadline}:2026-12-10:",
            due_at=NOW + timedelta(days=3),
            target="C0DKS",
            payload={"item_id": deadline},
            now=NOW,
        )
        open_alert(
            session=session,
            team_id=team_id,
            alert_key="not_in_channel:C0DKS",
            reason="not_in_channel",
            channel="C0DKS",
            now=NOW,
        )
        session.flush()
        ids = {name: answer.id for name, answer in answers.items()}
    tokens = _install(engine, team_id, at=NOW - timedelta(days=60))
    return {"answers": ids, "tokens": tokens}


def _answer(
    team_id: str, performance: Performance, *, user_id: str | None, comment: str
) -> FeedbackAnswer:
    assert performance.id is not None
    return FeedbackAnswer(
        team_id=team_id,
        performance_id=performance.id,
        production_id=performance.production_id,
        anonymous=user_id is None,
        user_id=user_id,
        # Within the edit window: an anonymous answer's key is an HMAC of its sender.
        respondent_key=respondent_key(SECRET, team_id, user_id or PERSON),
        rating_overall=5 if user_id == PERSON else 3,
        rating_artistic=4,
        rating_relevance=4,
        rating_pupils=5,
        rating_practical=2,
        comment_overall=comment,
        free_comment=f"{comment}!",
        pupils_attended=60,
        created_at=NOW,
        updated_at=NOW,
        edit_until=NOW + timedelta(days=14),
    )


def _install(engine: Engine, team_id: str, *, at: datetime) -> list[str]:
    """An «Add to Slack» installation at `at`, PERSON installing; its tokens in plain text."""
    store = SealedInstallationStore(
        client_id="1234.5678", engine=engine, cipher=token_cipher([Fernet.generate_key().decode()])
    )
    tokens = [
        f"xoxb-{team_id}-bot",
        f"xoxe-1-{team_id}-refresh",
        f"xoxp-{team_id}-user",
        f"https://hooks.slack.com/services/{team_id}/B0/secret",
    ]
    store.save(
        Installation(
            app_id="A0DKSBOT",
            enterprise_id=None,
            team_id=team_id,
            team_name=f"Kommune {team_id}",
            bot_token=tokens[0],
            bot_refresh_token=tokens[1],
            bot_token_expires_in=43200,
            bot_id="B0DKSBOT",
            bot_user_id="U0DKSBOT",
            bot_scopes="chat:write,commands",
            user_id=PERSON,
            user_token=tokens[2],
            user_scopes="identify",
            incoming_webhook_url=tokens[3],
            incoming_webhook_channel="#dks",
            incoming_webhook_channel_id="C0DKS",
            installed_at=at.timestamp(),
        )
    )
    return tokens


def encrypted_values(engine: Engine, team_id: str) -> list[str]:
    """What the database holds in the token columns (Fernet text)."""
    found = []
    for table in team_tables(engine):
        for row in rows_of(engine, table, team_id):
            for name in ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"):
                if row.get(name):
                    found.append(row[name])
    assert found
    return found


# --- the command line ---------------------------------------------------------------------------


def dks_bot(
    cwd: Path, engine: Engine, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`dks-bot ARGS` in `cwd` on this database, without Slack settings; stdin never a tty."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DKS_")) and k != "DATABASE_URL"
    }
    clean["DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
    clean.update(env)
    return subprocess.run(
        [DKS_BOT, *args],
        cwd=cwd,
        env=clean,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def clean_output(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    return output


def read_zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def json_rows(files: dict[str, bytes], table: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(files[f"{table}.json"].decode("utf-8"))
    return rows


def csv_rows(files: dict[str, bytes], table: str) -> list[dict[str, str]]:
    raw = files[f"{table}.csv"]
    assert raw.startswith("\ufeff".encode()), "Excel needs the BOM to read UTF-8"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


# --- workspaces ----------------------------------------------------------------------------------


def test_export_then_delete_a_workspace_leaves_nothing_of_it_and_all_of_the_other(
    engine: Engine, tmp_path: Path
) -> None:
    fill(engine, A)
    seeded_b = fill(engine, B)
    before_a, before_b = counts(engine, A), counts(engine, B)
    empty = sorted(name for name, n in {**before_a}.items() if n == 0 or before_b[name] == 0)
    assert empty == [], f"the seeding must fill every table for both workspaces: {empty}"

    exported = dks_bot(tmp_path, engine, "arbeidsområde", "eksporter", "--team", A, "--ut", "a.zip")
    assert exported.returncode == 0, clean_output(exported)
    assert f"Skrev {sum(before_a.values())} rader fra {len(before_a)} tabeller" in exported.stdout
    files = read_zip(tmp_path / "a.zip")
    everything = b"".join(files.values()).decode("utf-8")
    readme = files["README.txt"].decode("utf-8-sig")
    for table in team_tables(engine):
        expected = rows_of(engine, table, A)
        from_json, from_csv = json_rows(files, table.name), csv_rows(files, table.name)
        assert len(from_json) == len(from_csv) == before_a[table.name], table.name
        keys = [c.name for c in table.primary_key.columns]
        assert sorted(str([r[k] for k in keys]) for r in from_json) == sorted(
            str([r[k] for k in keys]) for r in expected
        ), table.name
        assert {r["team_id"] for r in from_json} == {A}
        assert f"{table.name}.csv og {table.name}.json" in readme
        assert "(ingen beskrivelse)" not in readme
    # Nothing of the other workspace, no token in any form.
    assert B not in everything
    for secret in [*seeded_b["tokens"], *encrypted_values(engine, A)]:
        assert secret not in everything
    assert not any(marker in everything for marker in PLAIN_TOKENS)
    assert "bot_token" not in csv_rows(files, "slack_bots")[0]
    assert "Slack-arbeidsområdet T0KOMMUNEA" in readme and "Tidspunkter er i UTC" in readme
    # Excel would run a cell starting with '=': it is quoted in CSV, exact in JSON.
    contact = next(r for r in csv_rows(files, "contact") if r["name"] == "Ola Nordmann")
    assert contact["note"] == "'=1+1" and contact["historical"] == "nei"
    contact = next(r for r in json_rows(files, "contact") if r["name"] == "Ola Nordmann")
    assert contact["note"] == "=1+1" and contact["historical"] is False

    deleted = dks_bot(tmp_path, engine, "arbeidsområde", "slett", "--team", A, "--ja")
    assert deleted.returncode == 0, clean_output(deleted)
    assert f"Slettet {sum(before_a.values())} rader" in deleted.stdout
    after_a = counts(engine, A)
    assert {name: n for name, n in after_a.items() if n} == {}
    assert counts(engine, B) == before_b


def test_deleting_asks_first_and_a_no_deletes_nothing(engine: Engine, tmp_path: Path) -> None:
    fill(engine, A)
    before = counts(engine, A)
    for answer in ("n\n", ""):  # «no», and no answer at all (end of input)
        result = dks_bot(tmp_path, engine, "arbeidsomrade", "slett", "--team", A, stdin=answer)
        output = clean_output(result)
        assert result.returncode == 1
        assert f"Dette slettes for godt fra arbeidsområdet {A}:" in output
        assert "  feedbackanswer" in output and "3 rader" in output
        assert "Ingenting ble slettet." in output
        assert counts(engine, A) == before
    result = dks_bot(tmp_path, engine, "arbeidsområde", "slett", "--team", A, stdin="y\n")
    assert result.returncode == 0, clean_output(result)
    assert not any(counts(engine, A).values())


def test_the_command_line_and_the_readme_speak_the_workspaces_language(
    engine: Engine, tmp_path: Path
) -> None:
    fill(engine, A)
    fill(engine, B)
    with session_scope(engine, write=True) as session:
        set_workspace_language(session=session, team_id=A, language="nn")
        set_workspace_language(session=session, team_id=B, language="en")
    before = counts(engine, A)

    exported = dks_bot(tmp_path, engine, "arbeidsområde", "eksporter", "--team", A, "--ut", "a.zip")
    assert exported.returncode == 0, clean_output(exported)
    tables = len([n for n in before.values() if n])
    assert f"Skreiv {sum(before.values())} rader frå {tables} tabellar om {A}" in exported.stdout
    files = read_zip(tmp_path / "a.zip")
    readme = files["README.txt"].decode("utf-8-sig")
    assert f"Alt DKS-boten har lagra om Slack-arbeidsområdet {A}, eksportert " in readme
    assert "Kvar tabell i databasen har to filer" in readme and "Tidspunkt er i UTC." in readme
    assert "- coordinator.csv og coordinator.json (2 rader): Personar som er lagde til" in readme
    assert "- user_language.csv og user_language.json (2 rader): Språket kvar person" in readme
    assert "Utelate med vilje:" in readme and "(inga skildring)" not in readme

    # English: the confirmation before an erasure, each count in its form, and the answer.
    declined = dks_bot(
        tmp_path, engine, "person", "slett", "--team", B, "--bruker", PERSON, stdin="n\n"
    )
    assert declined.returncode == 1
    output = clean_output(declined)
    assert f"This is what happens to what concerns {PERSON} in the workspace {B}:" in output
    assert "1 deleted" in output and "Nothing was deleted." in output
    exported = dks_bot(
        tmp_path, engine, "person", "eksporter", "--team", B, "--bruker", PERSON, "--ut", "p.zip"
    )
    assert exported.returncode == 0, clean_output(exported)
    assert f"about {PERSON} in {B} to p.zip." in exported.stdout
    readme = read_zip(tmp_path / "p.zip")["README.txt"].decode("utf-8-sig")
    assert f"What the DKS bot has stored about {PERSON} in the Slack workspace {B}" in readme
    assert "Anonymous feedback is not included" in readme
    contact = csv_rows(read_zip(tmp_path / "p.zip"), "contact")[0]
    assert contact["historical"] == "no"


def test_a_deletion_or_export_must_name_an_existing_workspace(
    engine: Engine, tmp_path: Path
) -> None:
    fill(engine, A)
    fill(engine, B)
    for args in (("arbeidsområde", "slett", "--ja"), ("arbeidsområde", "eksporter")):
        result = dks_bot(tmp_path, engine, *args)
        assert result.returncode == 2
        assert "--team" in clean_output(result)
    result = dks_bot(tmp_path, engine, "arbeidsområde", "slett", "--team", "T0FINNESIKKE", "--ja")
    assert result.returncode == 2
    assert "T0FINNESIKKE" in clean_output(result)
    (tmp_path / "finnes.zip").write_bytes(b"")
    result = dks_bot(
        tmp_path, engine, "arbeidsområde", "eksporter", "--team", A, "--ut", "finnes.zip"
    )
    assert result.returncode == 2
    assert "finnes allerede" in clean_output(result)
    assert all(counts(engine, A).values())


def test_a_table_reached_only_by_foreign_key_is_exported_and_deleted_and_an_orphan_refused(
    engine: Engine,
) -> None:
    fill(engine, A)
    fill(engine, B)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE answer_note (id INTEGER PRIMARY KEY, "
                "answer_id INTEGER NOT NULL REFERENCES feedbackanswer (id), note VARCHAR(100))"
            )
        )
        ids = conn.execute(sa.text("SELECT id, team_id FROM feedbackanswer")).all()
        for answer_id, team_id in ids:
            conn.execute(
                sa.text("INSERT INTO answer_note (id, answer_id, note) VALUES (:i, :a, :n)"),
                {"i": answer_id, "a": answer_id, "n": f"note of {team_id}"},
            )
    with session_scope(engine) as session:
        from storage.dataprotection import export_workspace

        files = zipfile.ZipFile(io.BytesIO(export_workspace(session=session, team_id=A, now=NOW)))
        notes = json.loads(files.read("answer_note.json"))
    assert sorted(n["note"] for n in notes) == [f"note of {A}"] * 3
    with session_scope(engine, write=True) as session:
        from storage.dataprotection import delete_workspace

        deleted = delete_workspace(session=session, team_id=A)
    assert deleted["answer_note"] == 3
    with engine.connect() as conn:
        left = conn.execute(sa.text("SELECT note FROM answer_note")).scalars().all()
    assert sorted(left) == [f"note of {B}"] * 3

    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE loose_notes (id INTEGER PRIMARY KEY, note TEXT)"))
    with engine.connect() as conn, pytest.raises(UnscopedTableError, match="loose_notes"):
        workspace_tables(conn)


# --- one person ----------------------------------------------------------------------------------


def test_a_person_export_holds_their_rows_and_erasure_leaves_no_trace_but_the_statistics(
    engine: Engine, tmp_path: Path
) -> None:
    ids = fill(engine, A)["answers"]
    fill(engine, B)
    theirs = rows_mentioning(engine, A, PERSON)
    assert {
        "contact",
        "coordinator",
        "feedbackanswer",
        "audit_entry",
        "deadline_done",
        "user_language",
    } <= set(theirs)
    others_before = rows_mentioning(engine, B, PERSON)
    anonymous_before = _answer_row(engine, ids["anonymous"])
    stats_before = _ratings(engine, A)
    audit_before = len(rows_of(engine, reflected(engine).tables["audit_entry"], A))

    result = dks_bot(
        tmp_path, engine, "person", "eksporter", "--team", A, "--bruker", PERSON, "--ut", "p.zip"
    )
    assert result.returncode == 0, clean_output(result)
    files = read_zip(tmp_path / "p.zip")
    everything = b"".join(files.values()).decode("utf-8")
    for table, rows in theirs.items():
        keys = [c.name for c in reflected(engine).tables[table].primary_key.columns]
        exported = {str([r[k] for k in keys]) for r in json_rows(files, table)}
        for row in rows:
            assert str([row[k] for k in keys]) in exported, (table, row)
    # Their named answer is there; the anonymous one, also theirs, is nobody's to find.
    answers = json_rows(files, "feedbackanswer")
    assert [a["id"] for a in answers] == [ids["named"]]
    assert "Anonymt hjertesukk" not in everything and "respondent_key" not in answers[0]
    assert (
        B not in everything
        and "Anne Annen" not in everything
        and "Fin forestilling" not in everything
    )
    assert not any(marker in everything for marker in PLAIN_TOKENS)
    assert "Anonyme tilbakemeldinger er ikke med" in files["README.txt"].decode("utf-8-sig")

    declined = dks_bot(
        tmp_path,
        engine,
        "person",
        "slett",
        "--team",
        A,
        "--bruker",
        f"<@{PERSON}|per>",
        stdin="n\n",
    )
    assert declined.returncode == 1
    output = clean_output(declined)
    assert "coordinator" in output and "1 slettes" in output and "endres" in output
    assert rows_mentioning(engine, A, PERSON) == theirs

    erased = dks_bot(tmp_path, engine, "person", "slett", "--team", A, "--bruker", PERSON, "--ja")
    assert erased.returncode == 0, clean_output(erased)
    assert rows_mentioning(engine, A, PERSON) == {}
    assert rows_mentioning(engine, B, PERSON) == others_before
    # What a coordinator still sees: the statistics, the anonymous answer as it was, the
    # events with the person replaced, the colleague's role and answer.
    assert _ratings(engine, A) == stats_before
    assert _answer_row(engine, ids["anonymous"]) == anonymous_before
    named = _answer_row(engine, ids["named"])
    assert named["user_id"] is None and named["respondent_key"] is None
    assert named["comment_overall"] is None and named["free_comment"] is None
    assert named["rating_overall"] == 5
    assert _answer_row(engine, ids["other"])["comment_overall"] == "Fin forestilling"
    done = rows_of(engine, reflected(engine).tables["deadline_done"], A)
    assert [d["done_by"] for d in done] == [ERASED]
    channel = rows_of(engine, reflected(engine).tables["reminder_channel_change"], A)
    assert [c["user_id"] for c in channel] == [ERASED]
    coordinators = rows_of(engine, reflected(engine).tables["coordinator"], A)
    assert [(c["user_id"], c["added_by"]) for c in coordinators] == [(OTHER, None)]
    languages = rows_of(engine, reflected(engine).tables["user_language"], A)
    assert [(row["user_id"], row["language"]) for row in languages] == [(OTHER, "en")]
    entries = rows_of(engine, reflected(engine).tables["audit_entry"], A)
    assert len(entries) == audit_before  # every event kept
    assert "done" in [e["action"] for e in entries if e["user_id"] == ERASED]
    added = next(e for e in entries if e["item_kind"] == "coordinator")
    assert (added["user_id"], added["summary"], added["changes"]) == (OTHER, ERASED, None)
    assert mention(ERASED) == "en slettet bruker"
    installer = rows_of(engine, reflected(engine).tables["slack_installations"], A)
    assert [(i["user_id"], i["user_token"]) for i in installer] == [(ERASED, None)]
    assert installer[0]["bot_token"] is not None  # the bot goes on working
    with session_scope(engine) as session:
        names = session.exec(select(Contact.name).where(col(Contact.team_id) == A)).all()
    assert "Per Person" not in names and {"Anne Annen", "Ola Nordmann"} <= set(names)


def test_a_contact_without_slack_is_found_and_erased_by_email(
    engine: Engine, tmp_path: Path
) -> None:
    fill(engine, A)
    address = NO_SLACK_EMAIL.upper()  # as someone types it in a request
    result = dks_bot(
        tmp_path, engine, "person", "eksporter", "--team", A, "--epost", address, "--ut", "o.zip"
    )
    assert result.returncode == 0, clean_output(result)
    files = read_zip(tmp_path / "o.zip")
    assert [c["name"] for c in json_rows(files, "contact")] == ["Ola Nordmann"]
    assert [p["filename"] for p in json_rows(files, "pending_import")] == ["kontakter.csv"]
    assert "audit_entry.json" not in files or all(
        mentions(e, NO_SLACK_EMAIL) or e["item_kind"] == "contact"
        for e in json_rows(files, "audit_entry")
    )

    # By e-mail, a contact with a Slack user is found too, with a hint to name the user.
    hinted = dks_bot(
        tmp_path, engine, "person", "slett", "--team", A, "--epost", PERSON_EMAIL, stdin="n\n"
    )
    assert hinted.returncode == 1
    assert f"Slack-bruker {PERSON}" in clean_output(hinted)

    erased = dks_bot(tmp_path, engine, "person", "slett", "--team", A, "--epost", address, "--ja")
    assert erased.returncode == 0, clean_output(erased)
    assert rows_mentioning(engine, A, NO_SLACK_EMAIL) == {}
    assert rows_mentioning(engine, A, "Ola Nordmann") == {}
    assert rows_mentioning(engine, A, PERSON)  # someone else's data is untouched


def test_person_commands_say_what_is_wrong(engine: Engine, tmp_path: Path) -> None:
    fill(engine, A)
    cases = [
        (("person", "slett", "--team", A, "--ja"), 2, "--bruker"),
        (("person", "slett", "--team", A, "--bruker", "kari", "--ja"), 2, "«kari»"),
        (("person", "eksporter", "--team", A, "--epost", "ikke-en-adresse"), 2, "e-postadresse"),
        (("person", "eksporter", "--bruker", PERSON), 2, "--team"),
        (("person", "eksporter", "--team", A, "--bruker", "U0INGEN"), 0, "Fant ingen data"),
    ]
    for args, code, words in cases:
        result = dks_bot(tmp_path, engine, *args)
        assert result.returncode == code, (args, clean_output(result))
        assert words in clean_output(result)
    assert not list(tmp_path.glob("*.zip"))


def test_every_column_that_looks_like_a_person_has_a_rule(engine: Engine) -> None:
    with engine.connect() as conn:
        assert unreviewed_columns(conn) == []


def _answer_row(engine: Engine, answer_id: int) -> dict[str, Any]:
    with session_scope(engine) as session:
        row = session.get(FeedbackAnswer, answer_id)
        assert row is not None
        return row.model_dump()


def _ratings(engine: Engine, team_id: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        stmt = sa.text(
            "SELECT production_id, COUNT(*), SUM(rating_overall), SUM(rating_practical), "
            "SUM(pupils_attended) FROM feedbackanswer WHERE team_id = :t GROUP BY production_id "
            "ORDER BY production_id"
        )
        return [tuple(r) for r in conn.execute(stmt, {"t": team_id})]


# --- retention -----------------------------------------------------------------------------------


def _uninstall(engine: Engine, team_id: str, at: datetime) -> None:
    with session_scope(engine, write=True) as session:
        workspace = get_or_create_workspace(session=session, team_id=team_id)
        workspace.uninstalled_at = at
        session.add(workspace)


def _has_data(engine: Engine, team_id: str) -> bool:
    return any(counts(engine, team_id).values())


def test_data_of_an_uninstalled_workspace_is_deleted_after_the_retention_period(
    engine: Engine,
) -> None:
    for team_id in ("T0GAMMEL", "T0NYLIG", "T0TILBAKE", "T0OAUTH", "T0AKTIV"):
        fill(engine, team_id)
    _uninstall(engine, "T0GAMMEL", NOW - timedelta(days=31))
    _uninstall(engine, "T0NYLIG", NOW - timedelta(days=29))
    _uninstall(engine, "T0TILBAKE", NOW - timedelta(days=40))
    with session_scope(engine, write=True) as session:
        mark_installed(session=session, team_id="T0TILBAKE")  # reinstalled within the period
    # Installed again through «Add to Slack» after the uninstall (the installation is newer).
    _uninstall(engine, "T0OAUTH", NOW - timedelta(days=40))
    _install(engine, "T0OAUTH", at=NOW - timedelta(days=35))

    assert purge_expired_workspaces(engine=engine, now=NOW, retention_days=30) == ["T0GAMMEL"]
    assert not _has_data(engine, "T0GAMMEL")
    for kept in ("T0NYLIG", "T0TILBAKE", "T0OAUTH", "T0AKTIV"):
        assert _has_data(engine, kept), kept

    later = NOW + timedelta(days=5)
    assert purge_expired_workspaces(engine=engine, now=later, retention_days=0) == ["T0NYLIG"]
    for kept in ("T0TILBAKE", "T0OAUTH", "T0AKTIV"):
        assert _has_data(engine, kept), kept


def test_the_scheduler_deletes_expired_workspaces_at_most_hourly(
    engine: Engine, settings, make_scheduler, clock
) -> None:
    used = replace(
        settings,
        data_retention_days=0,
        database_url=engine.url.render_as_string(hide_password=False),
    )
    fill(engine, A)
    fill(engine, B)
    _uninstall(engine, A, clock.now - timedelta(minutes=1))
    scheduler = make_scheduler(used, engine=engine, clock=clock)
    scheduler.tick()
    assert not _has_data(engine, A)

    _uninstall(engine, B, clock.now)
    clock.now += timedelta(minutes=30)  # the reminders are re-planned; the purge waits
    scheduler.tick()
    assert _has_data(engine, B)
    clock.now += timedelta(minutes=31)
    scheduler.tick()
    assert not _has_data(engine, B)


# --- Slack: a reinstall with one token, and /dks admin ----------------------------------------


def _event(slack, event: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    body = event_body(team_id=TEAM, event=event)
    headers = signed_headers(
        slack.settings.slack_signing_secret, body, content_type="application/json"
    )
    response = slack.post(body, headers=headers)
    assert response.status_code == 200


def _uninstalled_at(engine: Engine) -> datetime | None:
    with session_scope(engine) as session:
        workspace = session.get(Workspace, TEAM)
        assert workspace is not None
        return workspace.uninstalled_at


def test_with_one_token_a_request_after_an_uninstall_means_installed_again(
    slack, sqlite_engine: Engine
) -> None:
    slack.command("frist")  # the workspace talks to the bot: seeded
    _event(slack, {"type": "app_uninstalled"})
    assert _uninstalled_at(sqlite_engine) is not None
    # The other farewell Slack sends does not count as coming back.
    _event(slack, {"type": "tokens_revoked", "tokens": {"oauth": [MEMBER], "bot": []}})
    assert _uninstalled_at(sqlite_engine) is not None

    slack.command("frist", user=MEMBER)
    assert _uninstalled_at(sqlite_engine) is None
    assert (
        purge_expired_workspaces(
            engine=sqlite_engine, now=datetime.now(UTC) + timedelta(days=365), retention_days=0
        )
        == []
    )
    assert _has_data(sqlite_engine, TEAM)


def test_coordinators_see_the_retention_and_the_commands_in_dks_admin(
    slack, sqlite_engine: Engine
) -> None:
    text = visible_text(slack.command("admin"))
    assert "Data om arbeidsområdet slettes 30 dager etter at boten er fjernet" in text
    assert f"`dks-bot arbeidsområde eksporter --team {TEAM}`" in text
    assert f"`dks-bot arbeidsområde slett --team {TEAM}`" in text
    assert "`dks-bot person slett" in text and "--epost" in text
    member = visible_text(slack.command("admin", user=MEMBER))
    assert "Koordinatorer" in member and "dks-bot" not in member
    assert ADMIN  # the coordinator above is the fake's workspace admin
    # In nynorsk, with the number in its form.
    with session_scope(sqlite_engine, write=True) as session:
        set_workspace_language(session=session, team_id=TEAM, language="nn")
    text = visible_text(slack.command("admin"))
    assert "*Personvern:* Data om arbeidsområdet blir sletta 30 dagar etter at boten" in text
    assert "Den som driftar boten, kan eksportere" in text
    assert f"`dks-bot arbeidsområde eksporter --team {TEAM}`" in text


def test_after_an_erasure_slack_shows_a_deleted_user_where_the_person_was(
    slack, sqlite_engine: Engine
) -> None:
    from storage.personal_data import erase_person, person_of

    slack.command("frist")
    with session_scope(sqlite_engine, write=True) as session:
        workspace = get_or_create_workspace(session=session, team_id=TEAM)
        set_reminder_channel(
            session=session, workspace=workspace, channel_id="C0DKS", user_id=PERSON, now=NOW
        )
    assert f"valgt av <@{PERSON}>" in visible_text(slack.command("påminnelser status"))
    with session_scope(sqlite_engine, write=True) as session:
        erase_person(session=session, team_id=TEAM, person=person_of([PERSON], []))
    text = visible_text(slack.command("påminnelser status"))
    assert "valgt av en slettet bruker" in text and ERASED not in text
