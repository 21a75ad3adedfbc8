"""«Add to Slack» for many workspaces: Bolt's OAuth flow on the project's own database.

`oauth_options(settings, engine, client)` gives `create_app` what Bolt needs: the flow (install
page, redirect, our pages), the installation store and an `authorize` that caches what
`auth.test` said per token (otherwise Bolt calls it on every request: 120 ms each at Slack's
latency) and rotates tokens through `SerialTokenRotator`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.error import BoltError
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.oauth import pages
from bot.oauth.tokens import ROTATE_MINUTES_BEFORE, SerialTokenRotator
from bot.settings import Settings
from handlers.core.seeding import WorkspaceSeeder
from storage.db import session_scope
from storage.installations import (
    RecentInstallations,
    SealedInstallationStore,
    TokenKeyError,
    make_state_store,
    token_cipher,
)
from storage.workspaces import mark_installed

log = logging.getLogger(__name__)

# What a person sees when their workspace has no (longer an) installation.
NOT_INSTALLED_MESSAGE = (
    "DKS-boten er ikke installert i dette arbeidsområdet lenger. Be en administrator legge "
    "den til igjen."
)


class TeamNotAllowed(BoltError):
    """The workspace is not in SLACK_ALLOWED_TEAMS."""


@dataclass
class OAuthParts:
    flow: OAuthFlow
    store: RecentInstallations
    authorize: InstallationStoreAuthorize
    rotator: SerialTokenRotator


def authorization_url(api_url: str) -> str:
    """Slack's authorize page beside its Web API (slack.com, GovSlack, or the fake)."""
    base = api_url.rstrip("/").removesuffix("/api")
    return f"{base}/oauth/v2/authorize"


def make_store(settings: Settings, engine: Engine) -> SealedInstallationStore:
    if not settings.slack_client_id:
        raise ValueError("SLACK_CLIENT_ID is not set")
    return SealedInstallationStore(
        client_id=settings.slack_client_id, engine=engine, cipher=token_cipher(settings.token_keys)
    )


def make_rotator(
    settings: Settings, engine: Engine, store: SealedInstallationStore, client: WebClient
) -> SerialTokenRotator:
    return SerialTokenRotator(
        client_id=settings.slack_client_id or "",
        client_secret=settings.slack_client_secret or "",
        client=client,
        store=store,
        engine=engine,
    )


def oauth_parts(
    settings: Settings, engine: Engine, client: WebClient, logger: logging.Logger
) -> OAuthParts:
    sealed = make_store(settings, engine)
    # The rotator re-reads and saves past the cache; requests read through it.
    rotator = make_rotator(settings, engine, sealed, client)
    store = RecentInstallations(sealed)
    authorize = InstallationStoreAuthorize(
        logger=logger,
        installation_store=store,
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        token_rotation_expiration_minutes=ROTATE_MINUTES_BEFORE,
        cache_enabled=True,
        client=client,
    )
    authorize.token_rotator = rotator
    oauth_settings = OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=list(settings.slack_scopes),
        redirect_uri=settings.redirect_uri,
        authorization_url=authorization_url(settings.slack_api_url),
        installation_store=store,
        state_store=make_state_store(engine),
        token_rotation_expiration_minutes=ROTATE_MINUTES_BEFORE,
        callback_options=CallbackOptions(success=_success, failure=_failure),
        logger=logger,
    )
    flow = DksOAuthFlow(
        client=client, logger=logger, settings=oauth_settings, dks=settings, engine=engine
    )
    return OAuthParts(flow=flow, store=store, authorize=authorize, rotator=rotator)


class DksOAuthFlow(OAuthFlow):
    """Bolt's flow with our pages, the allow-list, and the workspace marked installed."""

    def __init__(self, *, dks: Settings, engine: Engine, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dks = dks
        self.engine = engine

    def build_install_page_html(self, url: str, request: BoltRequest) -> str:
        return pages.install_page(url)

    def store_installation(self, request: BoltRequest, installation: Installation) -> None:
        allowed = self.dks.slack_allowed_teams
        if allowed and installation.team_id not in allowed:
            self._give_back(installation)
            raise TeamNotAllowed(installation.team_id or "")
        try:
            self.settings.installation_store.save(installation)
            with session_scope(self.engine, write=True) as session:
                mark_installed(session=session, team_id=installation.team_id or "")
            # The bundled calendar now, not on the first request: a workspace deleted after an
            # earlier uninstall may still be "seen" by the web processes' seeders.
            WorkspaceSeeder(self.engine).ensure(installation.team_id or "")
        except (SQLAlchemyError, TokenKeyError) as err:
            log.exception("saving the installation of %s failed", installation.team_id)
            raise BoltError("storage_error") from err
        log.info("installed in %s", installation.team_id)

    def _give_back(self, installation: Installation) -> None:
        # Slack has already installed the app in that workspace; take it out again so no
        # token of a workspace we will not serve exists anywhere.
        try:
            self.client.apps_uninstall(
                token=installation.bot_token,
                client_id=self.settings.client_id,
                client_secret=self.settings.client_secret,
            )
        except SlackApiError as err:
            log.warning(
                "uninstalling from %s (not allowed) failed: %s",
                installation.team_id,
                err.response.get("error"),
            )
        log.info("refused an installation in %s: not in SLACK_ALLOWED_TEAMS", installation.team_id)


def _html(status: int, body: str, args: SuccessArgs | FailureArgs) -> BoltResponse:
    return BoltResponse(
        status=status,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            # The state cookie has done its job (or failed it): a second try starts clean.
            "Set-Cookie": args.settings.state_utils.build_set_cookie_for_deletion(),
        },
        body=body,
    )


def _success(args: SuccessArgs) -> BoltResponse:
    installation = args.installation
    return _html(200, pages.success_page(installation.team_name, installation.team_id), args)


def _failure(args: FailureArgs) -> BoltResponse:
    reason = pages.NOT_ALLOWED if isinstance(args.error, TeamNotAllowed) else args.reason
    if reason not in ("access_denied", pages.NOT_ALLOWED):
        log.warning("installation failed: %s", reason)
    status = 403 if reason == pages.NOT_ALLOWED else args.suggested_status_code
    return _html(status, pages.failure_page(reason), args)
