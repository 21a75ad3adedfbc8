"""Block Kit for `/dks hjelp`: one line per subcommand, from the same table the router uses."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from handlers.core.commands import COMMAND, Reply, Subcommand
from handlers.core.format import escape, truncate


def help_blocks(subcommands: Sequence[Subcommand], unknown: str) -> Reply:
    lines = [f"• `{COMMAND} {s.name}` – {s.summary} _Eksempel:_ `{s.example}`" for s in subcommands]
    intro = "Dette kan jeg hjelpe deg med:"
    if unknown:
        shown = escape(truncate(unknown, 60))
        intro = f"Jeg kjenner ikke «{shown}». {intro}"
    blocks: list[Block] = [
        HeaderBlock(text="DKS-boten – hjelp"),
        SectionBlock(text=MarkdownTextObject(text=intro)),
        SectionBlock(text=MarkdownTextObject(text="\n".join(lines))),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Svarene ser bare du. Søk tåler både «ø» og «o», «å» og «aa»."
                )
            ]
        ),
    ]
    return Reply(f"{intro}\n" + "\n".join(lines), blocks)
