"""Who is asking, and the one rule about who may change things.

Coordinators (workspace admins and owners, plus the people listed with `/dks admin legg til`)
may change the calendar, contacts, schools and settings, import and export; everyone may read.
The rule is declared where a listener is wired, never re-checked by hand inside it:

- a `/dks` subcommand: `Subcommand(coordinator=True)`, or a predicate on its words when only
  some of them write (`/dks påminnelser kanal …` writes, `/dks påminnelser` reads);
- a button, menu, form or type-ahead: `app.action(ID, middleware=[coordinator_only])(fn)`.

What Slack shows a user decides nothing: any payload can be crafted, so the check runs on the
server for every request that writes, and answers in the form the surface expects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltContext, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.core.blocks import notice_modal
from handlers.core.i18n import N_, _
from handlers.core.services import Services

COMMAND = "/dks"
# Marked here, translated where it is shown: `_(NOT_COORDINATOR)`.
NOT_COORDINATOR = N_(
    "Bare koordinatorer kan endre frister, møter, kontakter og skoler, importere og "
    "eksportere. Spør en koordinator om å legge deg til med "
    "`/dks admin legg til @navnet-ditt`."
)


@dataclass(frozen=True)
class Actor:
    team_id: str
    user_id: str


def _text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def actor(body: dict[str, Any], context: BoltContext) -> Actor:
    """The workspace and user of any request, from what Slack signed.

    Bolt reads them into the context for every payload type (a command's `team_id`/`user_id`,
    an interaction's `team.id`/`user.id`, an event's user); the body is the fallback for the
    odd payload Bolt does not know.
    """
    team_id = context.team_id or ""
    user_id = context.user_id or ""
    if not team_id or not user_id:
        user = body.get("user")
        team = body.get("team")
        if isinstance(user, dict):
            user_id = user_id or _text_of(user.get("id"))
            team_id = team_id or _text_of(user.get("team_id"))
        if isinstance(team, dict):
            team_id = team_id or _text_of(team.get("id"))
        team_id = team_id or _text_of(body.get("team_id"))
        user_id = user_id or _text_of(body.get("user_id"))
    return Actor(team_id=team_id, user_id=user_id)


def is_coordinator(services: Services, client: WebClient, who: Actor) -> bool:
    if not who.team_id or not who.user_id:
        return False
    return services.roles.is_coordinator(client=client, team_id=who.team_id, user_id=who.user_id)


class CoordinatorOnly(Middleware):
    """Listener middleware: runs the listener for coordinators, and for anyone else answers
    in the surface's own form and stops there.

    - a form submission: the form is replaced by a notice (field errors would not fit);
    - a type-ahead: no options;
    - a button or menu in a message: an ephemeral reply in that channel;
    - a button or menu on the Home tab or in a modal: a small modal saying why.
    """

    def __init__(self, refusal: str = NOT_COORDINATOR) -> None:
        # A bokmål message marked with N_(): translated per request, in the reader's language.
        self.refusal = refusal

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        context = req.context
        client = context.client
        assert client is not None
        if is_coordinator(context["services"], client, actor(req.body, context)):
            return next()
        return self.refuse(req, client)

    def refuse(self, req: BoltRequest, client: WebClient) -> BoltResponse:
        body, ack = req.body, req.context.ack
        assert ack is not None
        refusal = _(self.refusal)
        kind = body.get("type")
        if kind == "view_submission":
            return ack(response_action="update", view=notice_modal(refusal))
        if kind == "block_suggestion":
            return ack(options=[])
        answered = ack()
        respond = req.context.respond
        container = body.get("container")
        in_message = isinstance(container, dict) and container.get("type") == "message"
        try:
            if in_message and respond is not None and body.get("response_url"):
                respond(text=refusal, response_type="ephemeral", replace_original=False)
            elif body.get("trigger_id"):
                in_modal = (
                    isinstance(body.get("view"), dict) and body["view"].get("type") == "modal"
                )
                opener = client.views_push if in_modal else client.views_open
                opener(trigger_id=str(body["trigger_id"]), view=notice_modal(refusal))
        except SlackApiError as err:
            logging.getLogger(__name__).warning(
                "could not show the refusal: %s", err.response.get("error")
            )
        return answered


# Wire it as `middleware=[coordinator_only]`.
coordinator_only = CoordinatorOnly()
