"""The Home tab's listeners.

`app_home_opened` publishes in the listener itself: nobody sees an event's ack, the user waits
for views.publish, and Bolt's copy of the request for a lazy listener cost about as much as
building the tab (bench.home). Slack allows an event 3 seconds; a publish takes one call.
«Vis flere» acks the click at once and publishes after it.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient

from handlers.core.access import Actor
from handlers.core.feature import Changed
from handlers.core.lazy import logs_failures
from handlers.core.services import Services
from handlers.home.build import publish_home
from handlers.home.views import HomeLimits


def publish_opened(
    event: dict[str, Any],
    client: WebClient,
    services: Services,
    actor: Actor,
    logger: logging.Logger,
) -> None:
    """`app_home_opened`: the tab is built afresh each time the user switches to it."""
    # The same event comes for the app's Messages tab.
    if event.get("tab") != "home" or not actor.team_id or not actor.user_id:
        return
    publish_home(client, services, team_id=actor.team_id, user_id=actor.user_id, logger=logger)


@logs_failures
def show_more(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    services: Services,
    actor: Actor,
    logger: logging.Logger,
) -> None:
    """«Vis flere» under a list: what is shown rides in the tab's private_metadata."""
    view = body.get("view") or {}
    limits = HomeLimits.load(view.get("private_metadata")).more(str(action.get("value")))
    publish_home(
        client, services, team_id=actor.team_id, user_id=actor.user_id, logger=logger, limits=limits
    )


def on_change(
    event: Changed, *, client: WebClient, services: Services, logger: logging.Logger
) -> None:
    """Whoever changed something sees it on their Home tab at once."""
    if event.team_id and event.user_id:
        publish_home(client, services, team_id=event.team_id, user_id=event.user_id, logger=logger)
