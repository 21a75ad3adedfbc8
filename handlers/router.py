"""`/dks <subcommand>`: one table from subcommand (and aliases) to a function.

Help text and routing come from the same table, so they cannot disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block, SectionBlock

from bot.services import Services
from storage.folding import fold

COMMAND = "/dks"
MAX_ARGS_LENGTH = 500  # longer input is cut before it reaches a query or a message


@dataclass(frozen=True)
class Reply:
    """What the user sees in the ack; `after` runs once the ack is sent (views.open, uploads).

    An empty `text` acks with no body (e.g. when a modal opens instead).
    """

    text: str
    blocks: Sequence[Block] = ()
    after: Callable[[], None] | None = None

    def as_message(self) -> dict[str, Any]:
        if not self.text and not self.blocks:
            return {}
        message: dict[str, Any] = {"response_type": "ephemeral", "text": self.text}
        if self.blocks:
            message["blocks"] = [b.to_dict() for b in self.blocks]
        return message


@dataclass(frozen=True)
class CommandRequest:
    args: str
    team_id: str
    user_id: str
    channel_id: str | None
    services: Services
    client: WebClient
    logger: logging.Logger
    respond: Respond | None
    trigger_id: str = ""
    subcommands: Sequence[Subcommand] = field(default_factory=tuple)
    # Set when the user typed a subcommand the bot does not know; help then says so.
    unknown_word: str = ""


@dataclass(frozen=True)
class Subcommand:
    name: str
    summary: str
    example: str
    run: Callable[[CommandRequest], Reply]
    aliases: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def error_reply() -> Reply:
    text = (
        ":warning: Noe gikk galt hos meg, og jeg fikk ikke svart. Ingenting er lagret halvveis. "
        "Prøv igjen om litt – skjer det igjen, si fra til den som drifter boten."
    )
    return Reply(text, [SectionBlock(text=text)])


def find(subcommands: Sequence[Subcommand], word: str) -> Subcommand | None:
    key = fold(word)
    for sub in subcommands:
        if key in (fold(n) for n in sub.names()):
            return sub
    return None


def register(app: App, subcommands: Sequence[Subcommand]) -> None:
    help_sub = find(subcommands, "hjelp")

    def handle_dks(
        ack: Ack,
        command: dict[str, Any],
        context: BoltContext,
        client: WebClient,
        logger: logging.Logger,
        respond: Respond,
    ) -> None:
        text = (command.get("text") or "").strip()[:MAX_ARGS_LENGTH]
        word, _, args = text.partition(" ")
        sub = find(subcommands, word) if word else help_sub
        unknown = ""
        if sub is None:
            sub, unknown = help_sub, word
        assert sub is not None, "the help subcommand must be registered"
        request = CommandRequest(
            args=args.strip(),
            team_id=command.get("team_id") or context.team_id or "",
            user_id=command.get("user_id") or context.user_id or "",
            channel_id=command.get("channel_id"),
            services=context["services"],
            client=client,
            logger=logger,
            respond=respond,
            trigger_id=command.get("trigger_id", ""),
            subcommands=subcommands,
            unknown_word=unknown,
        )
        try:
            reply = sub.run(request)
        except Exception:
            logger.exception("/dks %s failed", sub.name)
            reply = error_reply()
        # The reply travels in the ack: one round trip, well inside Slack's 3 seconds.
        ack(**reply.as_message())
        if reply.after is not None:
            after = reply.after

            def run_after() -> None:
                try:
                    after()
                except Exception:
                    logger.exception("/dks %s failed after the ack", sub.name)
                    respond(**error_reply().as_message())

            # Not in this thread: in Bolt's default mode it may be the request's own, and the
            # reply must not wait for an upload (bot.app.AckWaitingExecutor).
            context["after_ack"](run_after)

    app.command(COMMAND)(handle_dks)
