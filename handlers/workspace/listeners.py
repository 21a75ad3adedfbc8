"""Slack's events about the installation itself: the app removed, or its bot token revoked."""

from __future__ import annotations

import logging
from typing import Any

from handlers.core.access import Actor
from handlers.core.services import Services
from handlers.workspace.stop import stop_workspace


def app_uninstalled(services: Services, actor: Actor, logger: logging.Logger) -> None:
    team_id = actor.team_id
    if team_id:
        stopped = stop_workspace(services, team_id, "uninstalled")
        logger.info("app uninstalled from %s: %d outbox messages cancelled", team_id, stopped)


def tokens_revoked(
    event: dict[str, Any], services: Services, actor: Actor, logger: logging.Logger
) -> None:
    # A revoked user token alone leaves the bot working; only the bot token matters.
    team_id = actor.team_id
    tokens = event.get("tokens")
    bot_tokens = tokens.get("bot") if isinstance(tokens, dict) else None
    if team_id and bot_tokens:
        stopped = stop_workspace(services, team_id, "tokens_revoked")
        logger.info("bot token revoked in %s: %d outbox messages cancelled", team_id, stopped)
