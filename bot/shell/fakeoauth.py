"""Slack's side of OAuth v2 for the fake Slack: workspaces, their bot tokens, the install
flow and token rotation.

- `/oauth/v2/authorize` answers as Slack does once a user pressed «Allow» (or «Cancel»):
  302 to the app's redirect URI with `code` and `state` (or `error=access_denied`);
- `oauth.v2.access` exchanges a code (single-use, ten minutes) or a refresh token for a bot
  token, the client authenticated by HTTP Basic as slack_sdk sends it, or by body params;
- with rotation (https://docs.slack.dev/authentication/using-token-rotation) an access token
  lives 12 hours and each refresh token works once: refreshing revokes it at once, while the
  access token it was issued with stays valid until its own expiry;
- `apps.uninstall` and `revoke()` revoke every token of a workspace.

A token the registry never issued but with a bot or user prefix (the tests' "xoxb-test-token",
`SLACK_BOT_TOKEN` in single-workspace mode) is the default workspace's, as before workspaces.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

# A token the registry did not issue keeps working with these prefixes (see the module doc).
LEGACY_TOKEN_PREFIXES = ("xoxb-", "xoxp-")
ROTATING_PREFIX = "xoxe.xoxb-"
TOKEN_LIFETIME = 43200  # Slack's expiring tokens: 12 hours
CODE_LIFETIME = 600  # an OAuth code is good for ten minutes
APP_ID = "A0DKSBOT"


@dataclass(frozen=True)
class Workspace:
    team_id: str
    name: str
    bot_user_id: str
    bot_id: str

    @property
    def url(self) -> str:
        return f"https://{re.sub(r'[^a-z0-9]+', '-', self.name.lower()).strip('-')}.slack.com/"


@dataclass
class Grant:
    """One bot access token as Slack knows it."""

    token: str
    team_id: str
    expires_at: float | None = None
    refresh_token: str | None = None
    revoked: bool = False


@dataclass(frozen=True)
class Caller:
    """Whose token a request carries. `legacy`: a token the registry never issued."""

    team_id: str
    legacy: bool = False


@dataclass
class _Code:
    team_id: str
    user_id: str
    scope: str
    redirect_uri: str | None
    issued_at: float


@dataclass
class _OAuthApp:
    client_id: str
    client_secret: str
    rotation: bool
    redirect_uri: str | None


@dataclass
class _NextConsent:
    team_id: str
    user_id: str
    deny: bool


@dataclass
class TokenRegistry:
    """Every workspace the fake knows and every token it issued, keyed by the token."""

    default: Workspace
    clock: Callable[[], float]
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    _grants: dict[str, Grant] = field(default_factory=dict)
    _refresh: dict[str, str] = field(default_factory=dict)  # live refresh token -> team
    _codes: dict[str, _Code] = field(default_factory=dict)
    _scopes: dict[str, str] = field(default_factory=dict)  # team -> scopes installed
    _refreshes: Counter[str] = field(default_factory=Counter)
    _legacy_revoked: bool = False
    _app: _OAuthApp | None = None
    _next: _NextConsent | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.workspaces[self.default.team_id] = self.default

    # --- set-up -----------------------------------------------------------------------------

    def add_workspace(self, workspace: Workspace) -> None:
        with self._lock:
            self.workspaces[workspace.team_id] = workspace

    def configure(
        self, client_id: str, client_secret: str, *, rotation: bool, redirect_uri: str | None
    ) -> None:
        with self._lock:
            self._app = _OAuthApp(client_id, client_secret, rotation, redirect_uri)

    def issue(self, team_id: str, *, rotation: bool) -> Grant:
        with self._lock:
            self._workspace(team_id)
            if rotation:
                grant = Grant(
                    f"{ROTATING_PREFIX}1-{_team_number(team_id)}-{secrets.token_hex(16)}",
                    team_id,
                    expires_at=self.clock() + TOKEN_LIFETIME,
                    refresh_token=f"xoxe-1-{secrets.token_hex(24)}",
                )
                self._refresh[str(grant.refresh_token)] = team_id
            else:
                grant = Grant(f"xoxb-{_team_number(team_id)}-{secrets.token_hex(16)}", team_id)
            self._grants[grant.token] = grant
            return grant

    def grant(self, token: str) -> Grant | None:
        with self._lock:
            return self._grants.get(token)

    def revoke(self, team_id: str) -> None:
        with self._lock:
            for grant in self._grants.values():
                if grant.team_id == team_id:
                    grant.revoked = True
            for refresh, team in list(self._refresh.items()):
                if team == team_id:
                    del self._refresh[refresh]
            if team_id == self.default.team_id:
                self._legacy_revoked = True

    def refresh_count(self, team_id: str) -> int:
        with self._lock:
            return self._refreshes[team_id]

    def authorize(
        self,
        team_id: str,
        *,
        user_id: str,
        scopes: str | Iterable[str],
        redirect_uri: str | None = None,
    ) -> str:
        """The user pressed «Allow»: the code Slack puts on the redirect."""
        scope = scopes if isinstance(scopes, str) else ",".join(scopes)
        with self._lock:
            self._workspace(team_id)
            code = f"{_team_number(team_id)}.{secrets.token_hex(20)}"
            self._codes[code] = _Code(team_id, user_id, scope, redirect_uri, self.clock())
            return code

    def next_authorize(self, team_id: str, *, user_id: str, deny: bool = False) -> None:
        with self._lock:
            self._workspace(team_id)
            self._next = _NextConsent(team_id, user_id, deny)

    # --- tokens on requests -----------------------------------------------------------------

    def resolve(self, token: str) -> Caller | str:
        """The caller a token stands for, or Slack's error for it."""
        with self._lock:
            grant = self._grants.get(token)
            if grant is None:
                if not token.startswith(LEGACY_TOKEN_PREFIXES):
                    return "invalid_auth"
                return (
                    "token_revoked" if self._legacy_revoked else Caller(self.default.team_id, True)
                )
            if grant.revoked:
                return "token_revoked"
            if grant.expires_at is not None and self.clock() >= grant.expires_at:
                return "token_expired"
            return Caller(grant.team_id)

    def owner(self, token: str) -> str | None:
        """The workspace a token is (or was, if revoked or expired) of; None if unknown."""
        with self._lock:
            grant = self._grants.get(token)
            if grant is not None:
                return grant.team_id
            return self.default.team_id if token.startswith(LEGACY_TOKEN_PREFIXES) else None

    def auth_test(self, caller: Caller, token: str) -> dict[str, Any]:
        with self._lock:
            workspace = self.workspaces[caller.team_id]
            grant = self._grants.get(token)
            body: dict[str, Any] = {
                "ok": True,
                "url": workspace.url,
                "team": workspace.name,
                "user": "dks-bot",
                "team_id": workspace.team_id,
                "user_id": workspace.bot_user_id,
                "bot_id": workspace.bot_id,
                "is_enterprise_install": False,
            }
            if grant is not None and grant.expires_at is not None:
                body["expires_in"] = max(0, int(grant.expires_at - self.clock()))
            return body

    # --- the OAuth endpoints ----------------------------------------------------------------

    def authorize_redirect(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """GET /oauth/v2/authorize, answered with the consent `next_authorize` set up."""
        with self._lock:
            app, consent = self._app, self._next
            if app is None or query.get("client_id") != app.client_id:
                return 400, {"content-type": "text/html"}, b"<p>invalid_client_id</p>"
            redirect_uri = query.get("redirect_uri") or app.redirect_uri
            # Slack takes the app's configured redirect URL or a URL under it, nothing else.
            if not redirect_uri or not redirect_uri.startswith(app.redirect_uri or redirect_uri):
                return 400, {"content-type": "text/html"}, b"<p>bad_redirect_uri</p>"
            if consent is None:
                # A test that did not say which workspace's user answers the consent screen.
                return 400, {"content-type": "text/html"}, b"<p>no consent set up</p>"
            self._next = None
            state = query.get("state", "")
            if consent.deny:
                params = {"error": "access_denied", "state": state}
            else:
                code = self.authorize(
                    consent.team_id,
                    user_id=consent.user_id,
                    scopes=query.get("scope", ""),
                    redirect_uri=query.get("redirect_uri"),
                )
                params = {"code": code, "state": state}
        return 302, {"location": _with_query(redirect_uri, params)}, b""

    def access(self, args: dict[str, Any], headers: dict[str, str]) -> tuple[str | None, dict]:
        """oauth.v2.access: (the workspace it installed or refreshed, Slack's answer)."""
        with self._lock:
            error = self._client_error(args, headers)
            if error is not None:
                return None, {"ok": False, "error": error}
            grant_type = args.get("grant_type") or "authorization_code"
            if grant_type == "refresh_token":
                return self._refresh_grant(str(args.get("refresh_token") or ""))
            if grant_type != "authorization_code":
                return None, {"ok": False, "error": "invalid_grant_type"}
            code = self._codes.get(str(args.get("code") or ""))
            if code is None or self.clock() - code.issued_at > CODE_LIFETIME:
                return None, {"ok": False, "error": "invalid_code"}
            if (args.get("redirect_uri") or None) != code.redirect_uri:
                return None, {"ok": False, "error": "bad_redirect_uri"}
            del self._codes[str(args["code"])]
            assert self._app is not None  # _client_error refused the request otherwise
            grant = self.issue(code.team_id, rotation=self._app.rotation)
            body = self._token_body(grant, code.scope)
            body["authed_user"] = {"id": code.user_id}
            return code.team_id, body

    def uninstall(self, caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            error = self._client_error(args, {})
            if error is not None:
                return {"ok": False, "error": error}
            self.revoke(caller.team_id)
            return {"ok": True}

    def _refresh_grant(self, refresh_token: str) -> tuple[str | None, dict]:
        team_id = self._refresh.pop(refresh_token, None)
        if team_id is None:
            return None, {"ok": False, "error": "invalid_refresh_token"}
        self._refreshes[team_id] += 1
        grant = self.issue(team_id, rotation=True)
        return team_id, self._token_body(grant, self._scopes.get(team_id, ""))

    def _token_body(self, grant: Grant, scope: str) -> dict[str, Any]:
        workspace = self.workspaces[grant.team_id]
        self._scopes[grant.team_id] = scope  # a refreshed token keeps the installed scopes
        body: dict[str, Any] = {
            "ok": True,
            "app_id": APP_ID,
            "scope": scope,
            "token_type": "bot",
            "access_token": grant.token,
            "bot_user_id": workspace.bot_user_id,
            "team": {"id": workspace.team_id, "name": workspace.name},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if grant.expires_at is not None:
            body["expires_in"] = TOKEN_LIFETIME
            body["refresh_token"] = grant.refresh_token
        return body

    def _client_error(self, args: dict[str, Any], headers: dict[str, str]) -> str | None:
        client_id, secret = args.get("client_id"), args.get("client_secret")
        basic = headers.get("authorization", "")
        if basic.startswith("Basic "):
            try:
                client_id, _, secret = (
                    base64.b64decode(basic.removeprefix("Basic "), validate=True)
                    .decode()
                    .partition(":")
                )
            except (binascii.Error, UnicodeDecodeError):
                return "invalid_client_id"
        if self._app is None or client_id != self._app.client_id:
            return "invalid_client_id"
        if secret != self._app.client_secret:
            return "bad_client_secret"
        return None

    def _workspace(self, team_id: str) -> Workspace:
        if team_id not in self.workspaces:
            raise KeyError(f"no workspace {team_id}: add_workspace() it first")
        return self.workspaces[team_id]


class Workspaces:
    """FakeSlack's workspaces and tokens: their set-up for tests, and which workspace's
    channels, users, views and files the token of the call being answered may reach."""

    team_id: str
    oauth: TokenRegistry
    users: dict[str, Any]  # user id -> FakeUser
    channels: dict[str, dict[str, Any]]
    _request: threading.local  # .caller: whose token the call being answered carries
    _dm_teams: dict[str, str]  # DM channel id -> the workspace that opened it

    def add_workspace(
        self,
        team_id: str,
        *,
        name: str | None = None,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
    ) -> None:
        """Another workspace the app can be installed in (the constructor's is the default)."""
        suffix = team_id.removeprefix("T")
        self.oauth.add_workspace(
            Workspace(
                team_id, name or team_id, bot_user_id or f"U{suffix}BOT", bot_id or f"B{suffix}"
            )
        )

    def issue_bot_token(self, team_id: str, *, rotation: bool = False) -> str:
        """A bot token of `team_id` as an install would give it; the refresh token, if
        rotating, is `fake.oauth.grant(token).refresh_token`."""
        return self.oauth.issue(team_id, rotation=rotation).token

    def configure_oauth(
        self,
        client_id: str,
        client_secret: str,
        *,
        rotation: bool = False,
        redirect_uri: str | None = None,
    ) -> None:
        """The app's credentials, whether token rotation is on, and its configured redirect
        URL (used when the authorize link names none)."""
        self.oauth.configure(client_id, client_secret, rotation=rotation, redirect_uri=redirect_uri)

    def authorize(
        self,
        team_id: str,
        *,
        user_id: str,
        scopes: str | list[str],
        redirect_uri: str | None = None,
    ) -> str:
        """`user_id` of `team_id` pressed «Allow»: the code oauth.v2.access exchanges."""
        return self.oauth.authorize(
            team_id, user_id=user_id, scopes=scopes, redirect_uri=redirect_uri
        )

    def next_authorize(self, team_id: str, *, user_id: str, deny: bool = False) -> None:
        """Who answers the next visit to /oauth/v2/authorize, and whether they cancel."""
        self.oauth.next_authorize(team_id, user_id=user_id, deny=deny)

    def revoke(self, team_id: str) -> None:
        """Revoke every token of the workspace, as an uninstall does."""
        self.oauth.revoke(team_id)

    def refresh_count(self, team_id: str) -> int:
        """How often the workspace's tokens were refreshed (oauth.v2.access refresh grant)."""
        return self.oauth.refresh_count(team_id)

    def _caller(self) -> Caller:
        """Whose token the call being answered carries (outside a call, e.g. a benchmark
        posting straight into the fake: the default workspace's)."""
        caller = getattr(self._request, "caller", None)
        return caller if caller is not None else Caller(self.team_id, legacy=True)

    def _foreign(self, owner: str | None, caller: Caller | None = None) -> bool:
        """Whether what `owner`'s workspace holds is out of the caller's reach. A token the
        registry never issued still reaches teams never added as workspaces: channels made
        with `add_channel(team_id=...)` alone, as benchmarks made them before workspaces."""
        caller = caller or self._caller()
        if owner is None or owner == caller.team_id:
            return False
        return not (caller.legacy and owner not in self.oauth.workspaces)

    def _foreign_user(self, user_id: str) -> bool:
        user = self.users.get(user_id)
        return user is not None and self._foreign(user.team_id)

    def _foreign_channel(self, channel: str) -> bool:
        if channel.startswith(("U", "W")):  # a DM addressed by the user's id
            return self._foreign_user(channel)
        if channel.startswith("D"):
            return self._foreign(self._dm_teams.get(channel))
        info = self.channels.get(channel)
        return info is not None and self._foreign(info.get("context_team_id"))


def _team_number(team_id: str) -> int:
    """Slack's tokens start with the workspace's number; the fake's stand-in for it."""
    return int.from_bytes(team_id.encode(), "big") % 10**11


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit(parts._replace(query=query))
