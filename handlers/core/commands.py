"""`/dks <subcommand>`: one table from subcommand (and aliases) to a function.

Help text and routing come from the same table, so they cannot disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from handlers.core.access import NOT_COORDINATOR, Actor, is_coordinator
from handlers.core.blocks import ERROR_TEXT
from handlers.core.i18n import _, current_language
from handlers.core.services import Services
from storage.folding import fold
from storage.replay import Replayed

COMMAND = "/dks"
MAX_ARGS_LENGTH = 500  # longer input is cut before it reaches a query or a message
HELP = "hjelp"  # what `/dks` alone, or a word the bot does not know, shows


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
    # The app's id, as Slack sends it with the command (for links into the app itself).
    api_app_id: str = ""


@dataclass(frozen=True)
class Subcommand:
    name: str  # the bokmål word
    # Marked with N_() where declared, translated where shown: `_(sub.summary)`.
    summary: str
    example: str
    run: Callable[[CommandRequest], Reply]
    aliases: tuple[str, ...] = ()
    # The word in the other languages ({"nn": "påminningar", "en": "reminders"}): routed like
    # an alias, and what help shows a reader of that language.
    words: Mapping[str, str] = field(default_factory=dict)
    # Who may run it: False for everyone; True for coordinators only; or a predicate on the
    # words after the subcommand, for a subcommand that only writes with some of them.
    coordinator: bool | Callable[[str], bool] = False
    # What a non-coordinator is told instead (default: the general NOT_COORDINATOR); marked
    # with N_() where declared, translated where shown.
    refusal: str = NOT_COORDINATOR
    # True when `run` may return a Reply with `after` (open a modal, upload a file): only
    # those requests go through Bolt's lazy listener, whose copy of the request costs more
    # than answering `/dks frist` itself.
    works_after_ack: bool = False

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.words.values(), *self.aliases)

    def word(self, language: str | None = None) -> str:
        """The subcommand as a reader of `language` (default: the one in force) types it."""
        return self.words.get(language or current_language(), self.name)

    def needs_coordinator(self, args: str) -> bool:
        return self.coordinator(args) if callable(self.coordinator) else self.coordinator


def error_reply() -> Reply:
    text = _(ERROR_TEXT)
    return Reply(text, [SectionBlock(text=text)])


def find(subcommands: Sequence[Subcommand], word: str) -> Subcommand | None:
    key = fold(word)
    for sub in subcommands:
        if key in (fold(n) for n in sub.names()):
            return sub
    return None


def handle_dks(
    ack: Ack,
    command: dict[str, Any],
    context: BoltContext,
    services: Services,
    actor: Actor,
    client: WebClient,
    logger: logging.Logger,
    respond: Respond,
) -> None:
    """Route `/dks <word> …` to its subcommand; the reply travels in the ack."""
    subcommands = services.subcommands
    text = str(command.get("text") or "").strip()[:MAX_ARGS_LENGTH]
    word, _space, args = text.partition(" ")
    sub = find(subcommands, word) if word else None
    unknown = word if word and sub is None else ""
    if sub is None:
        sub = find(subcommands, HELP)
        assert sub is not None, "the help subcommand must be declared"
    if sub.needs_coordinator(args.strip()) and not is_coordinator(services, client, actor):
        refusal = _(sub.refusal)
        reply = Reply(refusal, [SectionBlock(text=MarkdownTextObject(text=refusal))])
    else:
        reply = sub.run(
            CommandRequest(
                args=args.strip(),
                team_id=actor.team_id,
                user_id=actor.user_id,
                channel_id=command.get("channel_id"),
                services=services,
                client=client,
                logger=logger,
                respond=respond,
                trigger_id=str(command.get("trigger_id") or ""),
                subcommands=subcommands,
                unknown_word=unknown,
                api_app_id=str(command.get("api_app_id") or ""),
            )
        )
    if reply.after is not None and not sub.works_after_ack:
        raise RuntimeError(f"/dks {sub.name} works after the ack: declare works_after_ack=True")
    # Bolt hands a deep copy of this context to `finish_dks`; a function is copied as itself.
    context["after_ack"] = reply.after
    ack(**reply.as_message())


def finish_dks(context: BoltContext, logger: logging.Logger, respond: Respond) -> None:
    """Lazy listener: the subcommand's work after the ack (open a modal, upload a file)."""
    after = context.get("after_ack")
    if after is None:
        return
    try:
        after()
    except Replayed:
        logger.info("replayed /dks: nothing done after the ack")
    except Exception:
        logger.exception("/dks failed after the ack")
        respond(**error_reply().as_message())


def works_after_ack(command: dict[str, Any], services: Services) -> bool:
    """Matcher: the subcommand may hand work to `finish_dks`."""
    word = str(command.get("text") or "").strip()[:MAX_ARGS_LENGTH].partition(" ")[0]
    sub = find(services.subcommands, word) if word else None
    return sub is not None and sub.works_after_ack


def register(app: App) -> None:
    app.command(COMMAND, matchers=[works_after_ack])(ack=handle_dks, lazy=[finish_dks])
    app.command(COMMAND)(handle_dks)
