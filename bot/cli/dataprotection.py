"""`dks-bot arbeidsområde eksporter|slett` and `dks-bot person eksporter|slett` (GDPR).

A workspace's or one person's data, exported as a zip (CSV and JSON per table) or deleted
after a confirmation that shows what goes (`--ja` skips it, for scripts). Both need `--team`
even where one workspace would be the default: an export or a deletion names its target.
Exit codes: 0 done, 1 declined, 2 wrong use. The work is storage/dataprotection.py and
storage/personal_data.py. Once the workspace is known, everything is said in its language,
the exported README too (`_speaking`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import fail, load_settings, open_database, resolve_team, team_language
from handlers.core.i18n import _, ngettext, use_language

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

    from bot.settings import Settings
    from storage.dataprotection import Wording
    from storage.personal_data import Person

workspace_app = typer.Typer(
    help="A workspace's data: export or delete everything stored (GDPR).", no_args_is_help=True
)
person_app = typer.Typer(
    help="One person's data: export or erase (access and erasure requests, GDPR).",
    no_args_is_help=True,
)

# Required here, unlike other commands' --team: checked by hand for a Norwegian message.
TeamOption = Annotated[
    str | None, typer.Option("--team", help="Slack workspace (team id, T…); required.")
]
OutOption = Annotated[
    Path | None, typer.Option("--ut", help="Zip file to write (default: a name in this folder).")
]
YesOption = Annotated[bool, typer.Option("--ja", help="Do not ask; for scripts.")]
UserOption = Annotated[
    list[str] | None, typer.Option("--bruker", help="Slack user id (U…); may be repeated.")
]
EmailOption = Annotated[
    list[str] | None,
    typer.Option("--epost", help="E-mail address (contacts without Slack); may be repeated."),
]


def _team(settings: Settings, engine: Engine, team: str | None) -> str:
    """The workspace `--team` names, which must exist; exit 2 otherwise."""
    from storage.dataprotection import UnscopedTableError, workspace_tables
    from storage.db import session_scope

    if team is None or not team.strip():
        fail(
            _(
                "skriv hvilket arbeidsområde det gjelder med --team T…: en eksport eller "
                "sletting må navngi arbeidsområdet."
            )
        )
    with session_scope(engine) as session:
        team_id = resolve_team(settings, session, team)
        try:
            workspace_tables(session.connection())
        except UnscopedTableError as err:
            # A developer's mistake, but it must stop an export or deletion before it starts.
            fail(_("eksport og sletting er stoppet: %(error)s") % {"error": err})
    return team_id


@contextmanager
def _speaking(engine: Engine, team_id: str) -> Iterator[Wording]:
    """The workspace's language in force inside the block, and the `Wording` that writes an
    export's README in it."""
    from handlers.core.format import day_text
    from storage.dataprotection import Wording

    with use_language(team_language(engine, team_id)):
        yield Wording(gettext=_, ngettext=ngettext, day=day_text)


def _rows(count: int) -> str:
    return ngettext("%(n)d rad", "%(n)d rader", count) % {"n": count}


def _tables(count: int) -> str:
    return ngettext("%(n)d tabell", "%(n)d tabeller", count) % {"n": count}


def _out_path(ut: Path | None, default: str) -> Path:
    path = ut or Path(default)
    if path.exists():
        fail(_("%(path)s finnes allerede; velg et annet navn med --ut.") % {"path": path})
    if not path.parent.is_dir():
        fail(_("mappen %(path)s finnes ikke.") % {"path": path.parent})
    return path


def _confirm(question: str, yes: bool) -> None:
    if yes:
        return
    try:
        agreed = typer.confirm(question, default=False)
    except typer.Abort:
        agreed = False  # no answer (end of input): never delete on a guess
    if not agreed:
        typer.echo(_("Ingenting ble slettet."), err=True)
        raise typer.Exit(1)


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


# --- arbeidsområde --------------------------------------------------------------------------


@workspace_app.command("eksporter")
def export_workspace_cmd(team: TeamOption = None, ut: OutOption = None) -> None:
    """Write everything stored for a workspace to a zip: CSV and JSON per table, README.txt."""
    from storage.dataprotection import export_workspace, workspace_counts
    from storage.db import session_scope

    settings = load_settings()
    engine = open_database(settings)
    team_id = _team(settings, engine, team)
    with _speaking(engine, team_id) as wording:
        path = _out_path(ut, f"dks-arbeidsomrade-{team_id}-{_today()}.zip")
        with session_scope(engine) as session:
            counts = workspace_counts(session=session, team_id=team_id)
            content = export_workspace(
                session=session, team_id=team_id, now=datetime.now(UTC), wording=wording
            )
        path.write_bytes(content)
        typer.echo(
            _("Skrev %(rows)s fra %(tables)s om %(team)s til %(path)s.")
            % {
                "rows": _rows(sum(counts.values())),
                "tables": _tables(len(counts)),
                "team": team_id,
                "path": path,
            }
        )


@workspace_app.command("slett")
def delete_workspace_cmd(team: TeamOption = None, ja: YesOption = False) -> None:
    """Delete every row stored for a workspace, in every table, after a confirmation."""
    from storage.dataprotection import delete_workspace, workspace_counts
    from storage.db import session_scope

    settings = load_settings()
    engine = open_database(settings)
    team_id = _team(settings, engine, team)
    with _speaking(engine, team_id):
        with session_scope(engine) as session:
            counts = workspace_counts(session=session, team_id=team_id)
            installed = _still_installed(session, team_id)
        if not counts:
            typer.echo(
                _("Det er ingen data om arbeidsområdet %(team)s; ingenting å slette.")
                % {"team": team_id}
            )
            return
        typer.echo(_("Dette slettes for godt fra arbeidsområdet %(team)s:") % {"team": team_id})
        width = max(len(name) for name in counts)
        for name, found in counts.items():
            typer.echo(f"  {name:<{width}}  {_rows(found)}")
        typer.echo(
            _("  i alt: %(rows)s i %(tables)s")
            % {"rows": _rows(sum(counts.values())), "tables": _tables(len(counts))}
        )
        if installed:
            typer.echo(
                _(
                    "Merk: boten er fortsatt installert der. Fjern appen fra "
                    "Slack-arbeidsområdet først, ellers begynner den på nytt med "
                    "standardkalenderen."
                )
            )
        _confirm(_("Slette alt dette? Ta en eksport først om dere trenger den."), ja)
        with session_scope(engine, write=True) as session:
            deleted = delete_workspace(session=session, team_id=team_id)
        typer.echo(
            _("Slettet %(rows)s fra %(tables)s om %(team)s.")
            % {
                "rows": _rows(sum(deleted.values())),
                "tables": _tables(len(deleted)),
                "team": team_id,
            }
        )


def _still_installed(session: Session, team_id: str) -> bool:
    from storage.installations import installed_team_ids
    from storage.workspaces import get_workspace

    workspace = get_workspace(session=session, team_id=team_id)
    if team_id in installed_team_ids(session=session):
        return True
    return workspace is not None and workspace.uninstalled_at is None


# --- person ---------------------------------------------------------------------------------


def _person(users: list[str] | None, emails: list[str] | None) -> Person:
    from storage.personal_data import parse_email, parse_user_id, person_of

    if not users and not emails:
        fail(
            _("si hvem det gjelder: --bruker U… (Slack-bruker) og/eller --epost navn@eksempel.no.")
        )
    ids = []
    for raw in users or []:
        parsed = parse_user_id(raw)
        if parsed is None:
            fail(
                _("«%(value)s» er ikke en Slack-bruker-ID; den ser ut som U0123ABCD.")
                % {"value": raw}
            )
        ids.append(parsed)
    addresses = []
    for raw in emails or []:
        address = parse_email(raw)
        if address is None:
            fail(_("«%(value)s» er ikke en e-postadresse.") % {"value": raw})
        addresses.append(address)
    return person_of(ids, addresses)


def _who(person: Person) -> str:
    return ", ".join([*person.user_ids, *person.emails])


def _nothing_found(person: Person, team_id: str) -> str:
    return _("Fant ingen data om %(who)s i arbeidsområdet %(team)s.") % {
        "who": _who(person),
        "team": team_id,
    }


def _linked_hint(linked: list[str]) -> None:
    if linked:
        typer.echo(
            _(
                "Kontaktoppføringen har også Slack-bruker %(users)s; ta med --bruker for det som "
                "er knyttet til Slack-brukeren."
            )
            % {"users": ", ".join(linked)}
        )


@person_app.command("eksporter")
def export_person_cmd(
    team: TeamOption = None,
    bruker: UserOption = None,
    epost: EmailOption = None,
    ut: OutOption = None,
) -> None:
    """Write what is stored about one person in a workspace to a zip (an access request)."""
    from storage.db import session_scope
    from storage.personal_data import export_person, find_person

    person = _person(bruker, epost)
    settings = load_settings()
    engine = open_database(settings)
    team_id = _team(settings, engine, team)
    with _speaking(engine, team_id) as wording:
        with session_scope(engine) as session:
            data = find_person(session=session, team_id=team_id, person=person)
            if not data:
                typer.echo(_nothing_found(person, team_id))
                return
            path = _out_path(ut, f"dks-person-{team_id}-{_today()}.zip")
            content = export_person(
                session=session, data=data, now=datetime.now(UTC), wording=wording
            )
        path.write_bytes(content)
        rows = sum(len(t.rows) for t in data.tables)
        typer.echo(
            _("Skrev %(rows)s om %(who)s i %(team)s til %(path)s.")
            % {"rows": _rows(rows), "who": _who(person), "team": team_id, "path": path}
        )
        _linked_hint(data.linked_user_ids())


@person_app.command("slett")
def erase_person_cmd(
    team: TeamOption = None,
    bruker: UserOption = None,
    epost: EmailOption = None,
    ja: YesOption = False,
) -> None:
    """Erase one person from a workspace (an erasure request), after a confirmation.

    Their rows go; named feedback answers keep only their ratings; audit entries and done
    marks keep the event with the person's id replaced by a marker.
    """
    from storage.db import session_scope
    from storage.personal_data import erase_person, find_person, summary_lines

    person = _person(bruker, epost)
    settings = load_settings()
    engine = open_database(settings)
    team_id = _team(settings, engine, team)
    with _speaking(engine, team_id) as wording:
        with session_scope(engine) as session:
            data = find_person(session=session, team_id=team_id, person=person)
        if not data:
            typer.echo(_nothing_found(person, team_id))
            return
        typer.echo(
            _("Dette skjer med det som gjelder %(who)s i arbeidsområdet %(team)s:")
            % {"who": _who(person), "team": team_id}
        )
        for line in summary_lines(data.counts(), wording=wording):
            typer.echo(line)
        typer.echo(
            _(
                "Slettede rader blir borte; i endrede rader erstattes personen med «[slettet]», "
                "og tilbakemeldinger med navn beholder bare karakterene."
            )
        )
        _linked_hint(data.linked_user_ids())
        _confirm(_("Gjennomføre slettingen?"), ja)
        with session_scope(engine, write=True) as session:
            done = erase_person(session=session, team_id=team_id, person=person)
        deleted = sum(d for d, _changed in done.values())
        changed = sum(c for _deleted, c in done.values())
        typer.echo(
            _("Ferdig: %(deleted)s slettet og %(changed)s endret for %(who)s i %(team)s.")
            % {
                "deleted": _rows(deleted),
                "changed": _rows(changed),
                "who": _who(person),
                "team": team_id,
            }
        )
