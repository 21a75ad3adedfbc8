"""What the command groups share: settings, the database, `--team`, and how a command fails.

What a command says about a workspace is in the workspace's language: `team_session` speaks
it inside its block, and `team_language` reads it for a command that opens its own sessions.
Messages before the workspace is known are in bokmål. The CLI's own --help stays English.

A command that reads a workspace's data (exports, the reminder preview, the report) asks for
`existing=True`: on a workspace the database does not hold yet it would print nothing and
look like success, so it exits 2 saying how a workspace is made (`no_workspace_yet`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from bot.settings import Settings, SettingsError
from handlers.core.i18n import _

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

TeamOption = Annotated[
    str | None,
    typer.Option(
        help="Slack workspace (team id, T…). Default: the only installed one, or "
        "SLACK_BOT_TOKEN's own."
    ),
]


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr, `dks-bot: …`, and exit with `code` (2: wrong use or settings)."""
    typer.echo(f"dks-bot: {message}", err=True)
    raise typer.Exit(code) from None


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as err:
        fail(str(err))


def require_settings(settings: Settings, *names: str, hint: str = "") -> None:
    """Stop unless these settings are set; `hint` follows the message naming what is missing."""
    try:
        settings.require(*names)
    except SettingsError as err:
        fail(f"{err} {hint}" if hint else str(err))


def setup_logging(level: str = "INFO") -> None:
    """Root logging to stderr; user text in a record cannot start a line (bot/logs.py)."""
    from bot.logs import install

    install(level)


def open_database(settings: Settings) -> Engine:
    """An engine on DATABASE_URL, migrated to the newest revision."""
    from storage.db import make_engine, upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    return engine


# --- which workspace ------------------------------------------------------------------------


def resolve_team(
    settings: Settings, session: Session, team: str | None, *, existing: bool = False
) -> str:
    """The workspace a command works on; exit 2, listing the choices, when that is unclear.

    `--team` must name a workspace that exists: installed (OAuth), one the database holds, or
    SLACK_BOT_TOKEN's own. Without it: the only installed workspace (OAuth), or the token's
    own team as `auth.test` tells it (one workspace). The local shell's workspace is only ever
    used when named: a command never lands there by default.

    With `existing`, the workspace must also be in the database (a command that reads its
    data): otherwise exit 2 saying none exists yet and how one is made.
    """
    from storage.models import Workspace

    if existing and not settings.has_slack_credentials and not _stored_teams(session):
        # Without Slack only the local shell's workspace could be meant, and it is not made.
        no_workspace_yet(settings, None)
    team_id = _pick_team(settings, session, team, existing=existing)
    if existing and session.get(Workspace, team_id) is None:
        no_workspace_yet(settings, team_id)
    return team_id


def no_workspace_yet(settings: Settings, team_id: str | None) -> NoReturn:
    """Exit 2: the database holds no workspace (or not `team_id`) yet; say how one is made,
    the way this installation makes them. Slack's own request seeds a workspace (bot.app's
    WorkspaceSeeder), the install flow marks it installed (OAuth), and the shell's first
    command seeds the local one: the CLI never makes one only to print it empty."""
    if team_id is None:
        what = _("det finnes ingen arbeidsområder i databasen ennå.")
    else:
        what = _("arbeidsområdet %(team)s finnes ikke i databasen ennå.") % {"team": team_id}
    if settings.oauth_enabled:
        address = f"{settings.public_url or '<PUBLIC_URL>'}/slack/install"
        how = _(
            "Det lages når noen installerer appen i Slack-arbeidsområdet («Add to Slack» på "
            "%(url)s)."
        ) % {"url": address}
    elif settings.has_slack_credentials:
        how = _(
            "Det lages første gang noen bruker boten der: start dks-bot (eller dks-bot serve) "
            "og skriv /dks hjelp i Slack."
        )
    else:
        from sqlalchemy import make_url

        # The shell keeps its own database unless told which: name the one read here (its
        # password, if any, hidden).
        url = make_url(settings.database_url).render_as_string(hide_password=True)
        how = _(
            "Uten Slack lager «dks-bot shell --database %(url)s» det lokale arbeidsområdet med "
            "DKS-kalenderen i denne databasen; bruk så --team %(team)s. I Slack lages et "
            "arbeidsområde første gang noen bruker boten der (README, «Slack set-up»)."
        ) % {"url": url, "team": _shell_team()}
    fail(f"{what} {how}")


def _pick_team(settings: Settings, session: Session, team: str | None, *, existing: bool) -> str:
    """resolve_team's choice among the workspaces `--team` may name."""
    known = _known_teams(settings, session, existing=existing)
    single = bool(settings.slack_bot_token) and not settings.oauth_enabled
    if team is not None:
        wanted = team.strip()
        if wanted in known:
            return wanted
        if single:
            token_team, name = _token_team(settings)
            if wanted == token_team:
                return wanted
            known.setdefault(token_team, name)
        _no_such_team(wanted, known)
    if settings.oauth_enabled:
        from storage.installations import installed_team_ids

        installed = installed_team_ids(session=session)
        if len(installed) == 1:
            return installed[0]
        if not installed:
            _choose(known, _("boten er ikke installert i noe arbeidsområde ennå"))
        _choose(known, _("boten er installert i flere arbeidsområder"))
    if single:
        return _token_team(settings)[0]
    _choose(known, _("uten SLACK_BOT_TOKEN vet ikke boten hvilket"))


@contextmanager
def team_session(
    settings: Settings, team: str | None, *, write: bool = False, existing: bool = False
) -> Iterator[tuple[Session, str]]:
    """A session on the migrated database and the workspace a command works on (`--team`;
    with `existing`, one the database holds: see resolve_team), speaking the workspace's
    language inside the block.

    The workspace is settled first, in a read session of its own: asking Slack must not hold
    the database's write lock."""
    from handlers.core.i18n import use_language
    from storage.db import session_scope
    from storage.workspaces import workspace_language

    engine = open_database(settings)
    with session_scope(engine) as session:
        team_id = resolve_team(settings, session, team, existing=existing)
        language = workspace_language(session=session, team_id=team_id)
    with use_language(language), session_scope(engine, write=write) as session:
        yield session, team_id


def team_language(engine: Engine, team_id: str) -> str | None:
    """The workspace's language (None: bokmål), for `use_language`."""
    from storage.db import session_scope
    from storage.workspaces import workspace_language

    with session_scope(engine) as session:
        return workspace_language(session=session, team_id=team_id)


def _stored_teams(session: Session) -> list[str]:
    """The workspaces the database holds (a settings row each), in order."""
    from sqlmodel import col, select

    from storage.models import Workspace

    return list(session.exec(select(Workspace.team_id).order_by(col(Workspace.team_id))))


def _known_teams(
    settings: Settings, session: Session, *, existing: bool = False
) -> dict[str, str | None]:
    """Every workspace `--team` may name without asking Slack, with its name where known
    (with `existing`, not the local shell's before it is made)."""
    known: dict[str, str | None] = dict.fromkeys(_stored_teams(session))
    if settings.oauth_enabled:
        from storage.installations import installed_team_names

        known.update(installed_team_names(session=session))
    shell_team = _shell_team()
    if shell_team in known:
        known[shell_team] = _("det lokale skallet, dks-bot shell")
    elif not settings.has_slack_credentials and not existing:
        # Trying the bot without Slack: the shell's workspace is there to be named.
        known[shell_team] = _("det lokale skallet, dks-bot shell")
    return known


def _shell_team() -> str:
    from bot.shell.shell import SHELL_TEAM

    return SHELL_TEAM


def _token_team(settings: Settings) -> tuple[str, str | None]:
    """SLACK_BOT_TOKEN's workspace and its name, from Slack's `auth.test`."""
    from http.client import HTTPException

    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError, SlackClientError

    # slack_sdk logs a failed call itself; the one line below says it for the command.
    quiet = logging.getLogger("dks_bot.cli.auth_test")
    if not quiet.handlers:
        quiet.addHandler(logging.NullHandler())
        quiet.propagate = False
    client = WebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=10, logger=quiet
    )
    try:
        response = client.auth_test()
    except SlackApiError as err:
        error = str(err.response.get("error") or _("ukjent feil"))[:80]
        fail(
            _(
                "Slack godtar ikke SLACK_BOT_TOKEN (%(error)s), så arbeidsområdet er ukjent: "
                "sjekk tokenet (Slack-appen → OAuth & Permissions)."
            )
            % {"error": error}
        )
    except (SlackClientError, OSError, HTTPException) as err:
        reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        fail(
            _(
                "fikk ikke kontakt med Slack (%(url)s) for å finne arbeidsområdet til "
                "SLACK_BOT_TOKEN: %(reason)s. Prøv igjen, eller bruk --team."
            )
            % {"url": settings.slack_api_url, "reason": reason}
        )
    team_id = response.get("team_id")
    if not isinstance(team_id, str) or not team_id:
        fail(_("Slack svarte på auth.test uten arbeidsområde (team_id); bruk --team."))
    name = response.get("team")
    return team_id, name if isinstance(name, str) and name else None


def _listing(known: dict[str, str | None]) -> str:
    return "\n".join(
        f"  --team {team_id}" + (f"  ({name})" if name else "")
        for team_id, name in sorted(known.items())
    )


def _no_such_team(team: str, known: dict[str, str | None]) -> NoReturn:
    if not known:
        fail(
            _("finner ikke arbeidsområdet «%(team)s», og det finnes ingen arbeidsområder ennå.")
            % {"team": team}
        )
    fail(
        _("finner ikke arbeidsområdet «%(team)s». Velg et av disse:\n%(choices)s")
        % {"team": team, "choices": _listing(known)}
    )


def _choose(known: dict[str, str | None], why: str) -> NoReturn:
    if not known:
        fail(
            _(
                "vet ikke hvilket arbeidsområde du mener: %(why)s, og det finnes ingen "
                "arbeidsområder ennå. Sett SLACK_BOT_TOKEN for ett arbeidsområde, eller "
                "installer boten."
            )
            % {"why": why}
        )
    fail(
        _("velg arbeidsområde med --team (%(why)s). Disse finnes:\n%(choices)s")
        % {"why": why, "choices": _listing(known)}
    )
