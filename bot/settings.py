"""One settings object, read once at start from the environment and `.env`."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet
from dotenv import dotenv_values, set_key

from storage.calendar import DEFAULT_EXTRA_CLOSED_DAYS, set_extra_closed_days

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///dks-bot.db"
# The bot scopes of manifest.yml: what "Add to Slack" asks for unless SLACK_SCOPES says otherwise.
DEFAULT_SCOPES = (
    "commands",
    "chat:write",
    "users:read",
    "channels:read",
    "groups:read",
    "channels:history",
    "groups:history",
    "im:history",
    "im:write",
    "files:write",
    "files:read",
)
DEFAULT_RETENTION_DAYS = 30


MAKE_SECRET_KEY = "python -c 'import secrets; print(secrets.token_hex(32))'"
_DEFAULT_HOW = "add it to the environment or to .env (see README.md, 'Slack set-up')."
HOW_TO_SET = {
    "DKS_SECRET_KEY": (
        f"make one with `{MAKE_SECRET_KEY}` and add it to the environment or to .env, the same "
        "in every process (see README.md, 'Secret key')."
    ),
}


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable and the fix."""


@dataclass(frozen=True)
class Settings:
    # Secrets stay out of repr(), so a logged Settings never leaks them.
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Oslo"))
    port: int = 3000
    reminder_grace_hours: float = 12.0
    # Used to key HMACs (anonymous feedback); a random one per process is safe for tests only:
    # `serve`, `scheduler` and `run` refuse to start unless DKS_SECRET_KEY set it.
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    secret_key_from_env: bool = field(default=False, repr=False)
    # Where the bot is reached from outside (https://dks.kommune.no): calendar feed links and
    # (#13) the OAuth redirect. Never taken from a request's Host or X-Forwarded-Host.
    public_url: str | None = None
    # (month, day) closed every year besides weekends and public holidays: no reminders then.
    extra_closed_days: tuple[tuple[int, int], ...] = DEFAULT_EXTRA_CLOSED_DAYS
    # Serving many workspaces ("Add to Slack", OAuth v2): see docs/operations.md.
    slack_client_id: str | None = None
    slack_client_secret: str | None = field(default=None, repr=False)
    slack_scopes: tuple[str, ...] = DEFAULT_SCOPES
    # Workspaces allowed to install (a county serves its own municipalities); empty: any.
    slack_allowed_teams: frozenset[str] = frozenset()
    # Fernet keys for tokens at rest, newest first (DKS_TOKEN_KEY, comma-separated).
    token_keys: tuple[str, ...] = field(default=(), repr=False)
    data_retention_days: int = DEFAULT_RETENTION_DAYS

    def __post_init__(self) -> None:
        # The working days are the process's, as its settings are: the scheduler's refresh,
        # the CLI and the feedback follow-ups plan without a Settings in hand, so reading the
        # settings installs them (storage.calendar).
        set_extra_closed_days(self.extra_closed_days)

    @property
    def has_slack_credentials(self) -> bool:
        return bool(
            self.slack_bot_token
            or self.slack_app_token
            or self.slack_signing_secret
            or self.oauth_enabled
        )

    @property
    def oauth_enabled(self) -> bool:
        """Many workspaces: tokens come from installations, not from SLACK_BOT_TOKEN."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def redirect_uri(self) -> str | None:
        return f"{self.public_url}/slack/oauth_redirect" if self.public_url else None

    @property
    def dks_secret_key(self) -> str | None:
        """DKS_SECRET_KEY when it is set; None while the key is this process's own."""
        return self.secret_key if self.secret_key_from_env else None

    def require(self, *names: str) -> None:
        """Fail with a clear message when a run mode needs settings that are not set."""
        for name in names:
            if not getattr(self, name.lower()):
                raise SettingsError(f"{name} is not set: {HOW_TO_SET.get(name, _DEFAULT_HOW)}")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, dotenv_path: str | Path | None = ".env"
    ) -> Settings:
        """Read settings; the real environment wins over `.env`."""
        values: dict[str, str] = {}
        if dotenv_path is not None and Path(dotenv_path).is_file():
            values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
        values.update(os.environ if environ is None else environ)

        def get(name: str) -> str | None:
            raw = values.get(name)
            return raw.strip() if raw is not None and raw.strip() else None

        kwargs: dict[str, object] = {
            "slack_bot_token": get("SLACK_BOT_TOKEN"),
            "slack_app_token": get("SLACK_APP_TOKEN"),
            "slack_signing_secret": get("SLACK_SIGNING_SECRET"),
        }
        bot_token = kwargs["slack_bot_token"]
        if bot_token is not None and not str(bot_token).startswith("xoxb-"):
            raise SettingsError(
                "SLACK_BOT_TOKEN must be a bot token starting with 'xoxb-' "
                "(Slack app settings → OAuth & Permissions)."
            )
        app_token = kwargs["slack_app_token"]
        if app_token is not None and not str(app_token).startswith("xapp-"):
            raise SettingsError(
                "SLACK_APP_TOKEN must be an app-level token starting with 'xapp-' "
                "(Slack app settings → Basic Information → App-Level Tokens, "
                "scope connections:write)."
            )
        if (url := get("DATABASE_URL")) is not None:
            if "://" not in url:
                raise SettingsError(
                    "DATABASE_URL must be a database URL such as sqlite:///dks-bot.db or "
                    "postgresql+psycopg://user@host:5432/dbname."
                )
            kwargs["database_url"] = _normalise_database_url(url)
        if (api := get("SLACK_API_URL")) is not None:
            if not api.startswith(("http://", "https://")):
                raise SettingsError(
                    "SLACK_API_URL must be an http(s) URL such as https://slack.com/api/."
                )
            kwargs["slack_api_url"] = api if api.endswith("/") else api + "/"
        if (tz := get("BOT_TIMEZONE")) is not None:
            try:
                kwargs["timezone"] = ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                raise SettingsError(
                    f"BOT_TIMEZONE={tz!r} is not a known time zone: use an IANA name "
                    "such as Europe/Oslo."
                ) from None
        if (port := get("PORT")) is not None:
            if not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
                raise SettingsError(f"PORT={port!r} must be a whole number from 1 to 65535.")
            kwargs["port"] = int(port)
        if (grace := get("REMINDER_GRACE_HOURS")) is not None:
            try:
                hours = float(grace)
            except ValueError:
                hours = -1.0
            if not 0 <= hours <= 24 * 7:
                raise SettingsError(
                    f"REMINDER_GRACE_HOURS={grace!r} must be a number of hours from 0 to 168."
                )
            kwargs["reminder_grace_hours"] = hours
        if (key := get("DKS_SECRET_KEY")) is not None:
            if len(key) < 32:
                raise SettingsError(
                    f"DKS_SECRET_KEY must be at least 32 characters; make one with "
                    f"`{MAKE_SECRET_KEY}`."
                )
            kwargs["secret_key"] = key
            kwargs["secret_key_from_env"] = True
        if (public := get("PUBLIC_URL")) is not None:
            kwargs["public_url"] = _parse_public_url(public)
        if (closed := get("DKS_EXTRA_CLOSED_DAYS")) is not None:
            kwargs["extra_closed_days"] = _parse_closed_days(closed)
        kwargs.update(_oauth_settings(get))
        return cls(**kwargs)  # type: ignore[arg-type]


def _oauth_settings(get: Callable[[str], str | None]) -> dict[str, object]:
    kwargs: dict[str, object] = {
        "slack_client_id": get("SLACK_CLIENT_ID"),
        "slack_client_secret": get("SLACK_CLIENT_SECRET"),
    }
    if bool(kwargs["slack_client_id"]) != bool(kwargs["slack_client_secret"]):
        raise SettingsError(
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together (Slack app settings → "
            "Basic Information → App Credentials): set both, or neither."
        )
    if kwargs["slack_client_id"] and get("SLACK_BOT_TOKEN"):
        raise SettingsError(
            "SLACK_BOT_TOKEN and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are both set: use "
            "SLACK_BOT_TOKEN for one workspace, or the client id and secret to serve many "
            "workspaces through «Add to Slack» (then remove SLACK_BOT_TOKEN)."
        )
    if (scopes := get("SLACK_SCOPES")) is not None:
        parsed = tuple(s.strip() for s in scopes.split(",") if s.strip())
        if not parsed or any(not re.fullmatch(r"[a-z]+(:[a-z._]+)*", s) for s in parsed):
            raise SettingsError(
                f"SLACK_SCOPES={scopes!r} must be Slack scopes separated by commas, "
                "such as commands,chat:write."
            )
        kwargs["slack_scopes"] = parsed
    if (teams := get("SLACK_ALLOWED_TEAMS")) is not None:
        parsed_teams = frozenset(t.strip() for t in teams.split(",") if t.strip())
        if any(not re.fullmatch(r"[TE][A-Z0-9]{2,31}", t) for t in parsed_teams):
            raise SettingsError(
                f"SLACK_ALLOWED_TEAMS={teams!r} must be Slack workspace ids (T…) separated by "
                "commas."
            )
        kwargs["slack_allowed_teams"] = parsed_teams
    if (keys := get("DKS_TOKEN_KEY")) is not None:
        parsed_keys = tuple(k.strip() for k in keys.split(",") if k.strip())
        for key in parsed_keys:
            try:
                Fernet(key)
            except ValueError:
                raise SettingsError(
                    "DKS_TOKEN_KEY must be one or more Fernet keys separated by commas, newest "
                    "first; make one with `python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'`."
                ) from None
        kwargs["token_keys"] = parsed_keys
    if (days := get("DATA_RETENTION_DAYS")) is not None:
        if not days.isascii() or not days.isdigit() or not 0 <= int(days) <= 3650:
            raise SettingsError(
                f"DATA_RETENTION_DAYS={days!r} must be a whole number of days from 0 to 3650."
            )
        kwargs["data_retention_days"] = int(days)
    return kwargs


def _parse_public_url(raw: str) -> str:
    """«https://dks.kommune.no/» → «https://dks.kommune.no»: scheme, host, an optional port
    and path prefix; nothing else."""
    parts = urlsplit(raw)
    port_ok = True
    try:
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        port_ok = False
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or not port_ok
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
        or not raw.isascii()
        or any(c.isspace() for c in raw)
    ):
        raise SettingsError(
            f"PUBLIC_URL={raw!r} must be the address Slack and calendar apps reach the bot at, "
            "such as https://dks.kommune.no (no query, no user name)."
        )
    return raw.rstrip("/")


def keep_secret_key(settings: Settings, dotenv_path: str | Path = ".env") -> Settings:
    """The settings with DKS_SECRET_KEY: made now and kept in `.env` when it was not set, so
    the next run (the shell's) answers anonymously under the same key."""
    if settings.secret_key_from_env:
        return settings
    key = secrets.token_hex(32)
    path = Path(dotenv_path)
    if not path.exists():
        # A new .env holds a secret: readable by its owner only.
        path.touch(mode=0o600)
    set_key(path, "DKS_SECRET_KEY", key, quote_mode="never")
    return replace(settings, secret_key=key, secret_key_from_env=True)


def _parse_closed_days(raw: str) -> tuple[tuple[int, int], ...]:
    """«12-24,12-31» → ((12, 24), (12, 31)); «none» → ()."""
    if raw.casefold() in ("none", "ingen"):
        return ()
    days: set[tuple[int, int]] = set()
    for part in (p.strip() for p in raw.split(",")):
        month, _, day = part.partition("-")
        try:
            date(2000, int(month), int(day))  # a leap year: 02-29 is a day of the year
        except ValueError:
            raise SettingsError(
                f"DKS_EXTRA_CLOSED_DAYS={raw!r} must be days of the year as MM-DD separated by "
                f"commas, such as 12-24,12-31, or 'none': {part!r} is not one."
            ) from None
        days.add((int(month), int(day)))
    return tuple(sorted(days))


def _normalise_database_url(url: str) -> str:
    # Heroku-style URLs say postgres://; SQLAlchemy wants an explicit driver.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
