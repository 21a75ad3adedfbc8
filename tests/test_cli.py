"""The `dks-bot` command line, run as a user runs it: the installed script in a subprocess.

Settings come from the environment only; every run has its own working directory, so no
stray `.env` is read (one test puts a `.env` there on purpose).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlmodel import col, func, select

from storage.db import alembic_config, make_engine, session_scope, upgrade
from storage.models import Contact, Deadline, Meeting, utcnow
from storage.workspaces import get_or_create_workspace, set_workspace_language

DKS_BOT = str(Path(sys.executable).with_name("dks-bot"))
SETTINGS = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "DATABASE_URL",
    "SLACK_API_URL",
    "BOT_TIMEZONE",
    "PORT",
    "REMINDER_GRACE_HOURS",
    "DKS_SECRET_KEY",
    "WEB_CONCURRENCY",
    "DKS_EXTRA_CLOSED_DAYS",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_SCOPES",
    "SLACK_ALLOWED_TEAMS",
    "PUBLIC_URL",
    "DKS_TOKEN_KEY",
    "DATA_RETENTION_DAYS",
)


def run(
    cwd: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`dks-bot ARGS` in `cwd` with only these settings; stdin is never a terminal."""
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    clean.setdefault("DATABASE_URL", f"sqlite:///{cwd / 'dks.db'}")
    clean.update(env or {})
    return subprocess.run(
        [DKS_BOT, *args],
        cwd=cwd,
        env=clean,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_clean_line(result: subprocess.CompletedProcess[str], *words: str) -> str:
    """What a user sees on a settings problem: one line naming the cause, no traceback."""
    output = (result.stdout + result.stderr).strip()
    assert "Traceback" not in output
    assert len(output.splitlines()) == 1, output
    for word in words:
        assert word in output
    return output


@pytest.mark.parametrize(
    ("env", "variable", "command"),
    [
        ({"SLACK_BOT_TOKEN": "xoxp-a-user-token"}, "SLACK_BOT_TOKEN", []),
        ({"SLACK_APP_TOKEN": "xoxb-not-an-app-token"}, "SLACK_APP_TOKEN", ["run"]),
        ({"DATABASE_URL": "dks.db"}, "DATABASE_URL", ["db", "upgrade"]),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL", ["shell", "-c", "/dks hjelp"]),
        ({"BOT_TIMEZONE": "Europe/Osl"}, "BOT_TIMEZONE", ["shell", "-c", "/dks frist"]),
        ({"PORT": "80a"}, "PORT", ["serve"]),
        ({"DKS_SECRET_KEY": "too-short"}, "DKS_SECRET_KEY", ["import", "kalender", "x.yaml"]),
    ],
)
def test_a_malformed_setting_stops_the_command_with_one_line(tmp_path, env, variable, command):
    result = run(tmp_path, *command, env=env)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert_one_clean_line(result, variable)
    assert not (tmp_path / "dks.db").exists(), "nothing may start on bad settings"


def test_a_malformed_setting_in_dotenv_is_named_too(tmp_path):
    (tmp_path / ".env").write_text("PORT=tre tusen\n")
    result = run(tmp_path, "db", "upgrade")
    assert result.returncode == 2
    assert_one_clean_line(result, "PORT", "tre tusen")


def test_without_credentials_and_terminal_it_points_at_the_shell_and_readme(tmp_path):
    result = run(tmp_path)
    assert result.returncode == 0
    line = assert_one_clean_line(result, "dks-bot shell", "README")
    assert "SLACK_BOT_TOKEN" in line


def test_socket_mode_without_an_app_token_names_it(tmp_path):
    result = run(tmp_path, "run", env={"SLACK_BOT_TOKEN": "xoxb-1-2-abc"})
    assert result.returncode == 2
    assert_one_clean_line(result, "SLACK_APP_TOKEN", "dks-bot serve")


def test_serve_without_a_signing_secret_names_it(tmp_path):
    result = run(tmp_path, "serve", env={"SLACK_BOT_TOKEN": "xoxb-1-2-abc"})
    assert result.returncode == 2
    assert_one_clean_line(result, "SLACK_SIGNING_SECRET")


def test_shell_commands_render_the_bundled_calendar_from_a_fresh_database(tmp_path):
    result = run(tmp_path, "shell", "-c", "/dks frist", "-c", "/dks kontakt support")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    frist, _, kontakt = out.partition("dks> /dks kontakt support")
    assert frist.startswith("dks> /dks frist")
    # A header is underlined; undated items of the bundled calendar are listed below.
    assert "Frister de neste 90 dagene\n==========================" in frist
    assert "Uten dato ennå (frister): " in frist
    assert "Tilbakemelding på turnéplanene" in frist
    # Contacts: an underlined header, a divider line between hits, mail addresses as text.
    assert "Kontakter – «support»\n=====================" in kontakt
    assert "DKS-portalen (Kulturtanken) – support" in kontakt
    assert "support@denkulturelleskolesekken.no" in kontakt
    assert "support@ksys.no" in kontakt
    assert "-" * 40 in kontakt
    # No Slack markup reaches the terminal.
    rendered = "\n".join(line for line in out.splitlines() if not line.startswith("dks> "))
    for markup in ("mailto:", "<", ">", "&amp;", "*"):
        assert markup not in rendered


def write_many_deadlines(path: Path, count: int) -> list[str]:
    """A calendar file with `count` deadlines, five days apart from next week on."""
    titles = [f"Frist nummer {i:02d}" for i in range(count)]
    lines = ["frister:"]
    for i, title in enumerate(titles):
        due = date.today() + timedelta(days=5 + 5 * i)
        lines += [f"  - id: frist-{i:02d}", f"    tittel: {title}", f"    dato: {due.isoformat()}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return titles


def test_shell_on_stdin_clicks_a_button_by_number_and_stops_at_avslutt(tmp_path):
    titles = write_many_deadlines(tmp_path / "mange.yaml", 20)
    imported = run(tmp_path, "import", "kalender", "mange.yaml", "--team", "T0LOCAL")
    assert imported.returncode == 0, imported.stderr

    # The shell keeps its own database unless told to use the one the import wrote.
    database = f"sqlite:///{tmp_path / 'dks.db'}"
    result = run(
        tmp_path, "shell", "--database", database, stdin="/dks frist alle\n1\navslutt\n/dks frist\n"
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    first, _, second = out.partition("Viser 1–15 av 20.")
    assert second, out
    assert "Alle kommende frister" in first
    assert all(t in first for t in titles[:15])
    assert titles[15] not in first
    assert "[1: Vis flere (5 til)]" in first
    # The click answered through the response_url: the next page replaces the list.
    assert all(t in second for t in titles[15:])
    assert "Viser 16–20 av 20." in second
    # Nothing after «avslutt» ran.
    assert "Frister de neste 90 dagene" not in out


def test_shell_says_so_for_a_button_number_that_is_not_there(tmp_path):
    result = run(tmp_path, "shell", stdin="7\n")
    assert result.returncode == 0
    # Piped lines are echoed after the prompt, as a transcript.
    assert result.stdout.strip().splitlines() == ["dks> 7", "Det er ingen knapp med det nummeret."]


BAD_CALENDAR = """\
frister:
  - id: frist-en
    tittel: Første frist
    dato: 2027-02-30
  - id: frist-to
    dato: 2027-03-01
  - id: frist-tre
    tittel: Tredje frist
    dato: 2027-03-02
    klokkeslett: "25:00"
moter:
  - id: mote-en
    tittel: Nettverksmøte
    dato: 2027-01-10
    form: teleport
"""

GOOD_CALENDAR = """\
frister:
  - id: frist-en
    tittel: Første frist
    dato: 2027-02-01
moter:
  - id: mote-en
    tittel: Nettverksmøte
    dato: 2027-01-10
    form: digital
kontakter:
  - id: kontakt-en
    navn: Åse Ødegård
    rolle: kulturkontakt
    epost: ase@example.no
"""


def stored(tmp_path: Path) -> tuple[int, int, int]:
    engine = make_engine(f"sqlite:///{tmp_path / 'dks.db'}")
    try:
        with session_scope(engine) as session:
            return tuple(  # type: ignore[return-value]
                session.exec(select(func.count()).select_from(model)).one()
                for model in (Deadline, Meeting, Contact)
            )
    finally:
        engine.dispose()


def test_import_of_a_bad_calendar_reports_every_bad_row_and_imports_nothing(tmp_path):
    (tmp_path / "feil.yaml").write_text(BAD_CALENDAR, encoding="utf-8")
    result = run(tmp_path, "import", "kalender", "feil.yaml")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("Ingenting ble importert.")
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "Linje 4",
        "Linje 5",
        "Linje 10",
        "Linje 15",
    ]
    assert "2027-02-30" in lines[1]
    assert "tittel" in lines[2]
    assert "25:00" in lines[3]
    assert "teleport" in lines[4]
    if (tmp_path / "dks.db").exists():
        assert stored(tmp_path) == (0, 0, 0)


def test_import_of_a_good_calendar_reports_counts_and_is_idempotent(tmp_path):
    (tmp_path / "kalender.yaml").write_text(GOOD_CALENDAR, encoding="utf-8")
    first = run(tmp_path, "import", "kalender", "kalender.yaml", "--team", "T0LOCAL")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == (
        "Importert til T0LOCAL. 1 ny frist, 0 endret, 0 uendret; 1 nytt møte, 0 endret, "
        "0 uendret; 1 ny kontakt, 0 endret, 0 uendret."
    )
    assert stored(tmp_path) == (1, 1, 1)

    again = run(tmp_path, "import", "kalender", "kalender.yaml", "--team", "T0LOCAL")
    assert again.returncode == 0
    assert again.stdout.startswith("Importert til T0LOCAL. ")
    assert again.stdout.count(", 0 endret, 1 uendret") == 3
    assert stored(tmp_path) == (1, 1, 1)
    # The explicit import replaces the bundled calendar: the shell does not seed on top of it.
    database = f"sqlite:///{tmp_path / 'dks.db'}"
    shell = run(tmp_path, "shell", "--database", database, "-c", "/dks kontakt ødegård")
    assert "Åse Ødegård – kulturkontakt" in shell.stdout
    engine = make_engine(f"sqlite:///{tmp_path / 'dks.db'}")
    with session_scope(engine) as session:
        titles = session.exec(select(col(Deadline.title))).all()
    engine.dispose()
    assert titles == ["Første frist"]


def workspace_in(tmp_path: Path, team_id: str, language: str | None) -> None:
    """The workspace in the test's database, writing `language` (None: bokmål)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'dks.db'}")
    upgrade(engine)
    with session_scope(engine, write=True) as session:
        get_or_create_workspace(session=session, team_id=team_id).seeded_at = utcnow()
        if language:
            set_workspace_language(session=session, team_id=team_id, language=language)
    engine.dispose()


def test_what_the_cli_says_about_a_workspace_is_in_its_language(tmp_path):
    workspace_in(tmp_path, "T0LOCAL", "nn")
    (tmp_path / "kalender.yaml").write_text(GOOD_CALENDAR, encoding="utf-8")
    first = run(tmp_path, "import", "kalender", "kalender.yaml", "--team", "T0LOCAL")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Importert til T0LOCAL. 1 ny frist, 0 endra, 0 uendra;")
    exported = run(tmp_path, "export", "kalender", "--team", "T0LOCAL", "--ut", "dks.ics")
    assert exported.returncode == 0, exported.stderr
    assert exported.stderr.strip() == "Skreiv kalenderen for T0LOCAL til dks.ics."


# One performance, far ahead, at a school nobody is kulturkontakt for.
LONELY_TOURPLAN = (
    "forestilling_id;produksjon;kunstuttrykk;utøver;beskrivelse;skole;kommune;dato;start;"
    "slutt;sted;trinn;elever;avlyst\n"
    "AS-V30-001;Fyrvokterens dagbok;kulturarv;Follo museum;;Rustad skole;Ås;17.03.2030;"
    "09:00;10:30;Klasserommene;5-7;78;\n"
)


@pytest.mark.parametrize(
    ("language", "note"),
    [
        (
            None,
            "Merk: 1 forestilling er på en skole uten kulturkontakt koblet til en Slack-bruker, "
            "og arbeidsområdet har ingen påminnelseskanal. Spørsmålet om tilbakemelding sendes "
            "når en av delene er på plass.",
        ),
        (
            "nn",
            "Merk: 1 framsyning er på ein skule utan kulturkontakt kopla til ein Slack-brukar, "
            "og arbeidsområdet har ingen påminningskanal. Spørsmålet om tilbakemelding blir "
            "sendt når ein av delane er på plass.",
        ),
    ],
)
def test_one_performance_without_a_recipient_is_one_performance(tmp_path, language, note):
    """Issue 14's «1 forestillinger er på skoler…»: the count decides the words."""
    workspace_in(tmp_path, "T0LOCAL", language)
    (tmp_path / "turneplan.csv").write_text(LONELY_TOURPLAN, encoding="utf-8")
    result = run(tmp_path, "import", "turneplan", "turneplan.csv", "--team", "T0LOCAL")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Importert til T0LOCAL: ")
    assert result.stderr.strip() == note


def test_import_of_a_missing_file_says_so(tmp_path):
    result = run(tmp_path, "import", "kalender", "finnes-ikke.yaml")
    assert result.returncode == 2
    assert_one_clean_line(result, "finnes-ikke.yaml")


def test_db_upgrade_prints_the_revision_it_reached(tmp_path):
    result = run(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 'dks.db'}")
    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    engine.dispose()
    assert result.stdout.strip() == f"Database at revision {','.join(sorted(heads))}."
    again = run(tmp_path, "db", "upgrade")
    assert again.stdout == result.stdout
