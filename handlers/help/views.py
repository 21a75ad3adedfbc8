"""Block Kit for `/dks hjelp`: one line per subcommand, from the same table the router uses,
each in the reader's language (its word, summary and example)."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from handlers.core.blocks import SECTION_LIMIT
from handlers.core.commands import COMMAND, Reply, Subcommand
from handlers.core.format import escape, truncate
from handlers.core.i18n import _


def help_line(sub: Subcommand) -> str:
    return _("• `%(command)s` – %(summary)s _Eksempel:_ `%(example)s`") % {
        "command": f"{COMMAND} {sub.word()}",
        "summary": _(sub.summary),
        "example": _(sub.example),
    }


def _sections(lines: Sequence[str]) -> list[Block]:
    """The lines in as few sections as fit Slack's 3000 characters a section (in every
    language: a translation may be longer than the bokmål)."""
    chunks: list[list[str]] = [[]]
    for line in lines:
        line = truncate(line, SECTION_LIMIT)
        if chunks[-1] and len("\n".join([*chunks[-1], line])) > SECTION_LIMIT:
            chunks.append([])
        chunks[-1].append(line)
    return [SectionBlock(text=MarkdownTextObject(text="\n".join(c))) for c in chunks if c]


def help_blocks(subcommands: Sequence[Subcommand], unknown: str) -> Reply:
    lines = [help_line(s) for s in subcommands]
    if unknown:
        intro = _("Jeg kjenner ikke «%(word)s». Dette kan jeg hjelpe deg med:") % {
            "word": escape(truncate(unknown, 60))
        }
    else:
        intro = _("Dette kan jeg hjelpe deg med:")
    blocks: list[Block] = [
        HeaderBlock(text=_("DKS-boten – hjelp")),
        SectionBlock(text=MarkdownTextObject(text=intro)),
        *_sections(lines),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=_("Svarene ser bare du. Søk tåler både «ø» og «o», «å» og «aa».")
                )
            ]
        ),
    ]
    return Reply(f"{intro}\n" + "\n".join(lines), blocks)
