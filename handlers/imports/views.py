"""What an import shows besides its forms: the file's errors, and that it is done."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from handlers.core.blocks import NOTICE_BLOCK, SECTION_LIMIT, notice_modal
from handlers.core.format import escape, truncate

MAX_LISTED_LINES = 120  # what a modal's 100 blocks hold, in sections of up to 3000 characters
FILENAME_LIMIT = 100
EXPIRED = (
    "Denne forhåndsvisningen er utløpt eller allerede importert. "
    "Trykk «Importer» på Home-fanen og last opp filen på nytt."
)


def shown_file(filename: str) -> str:
    return f"*{escape(truncate(filename, FILENAME_LIMIT))}*"


def listed(lines: Sequence[str], more: str) -> list[SectionBlock]:
    """Lines as sections (each under Slack's 3000 characters), cut at MAX_LISTED_LINES with
    «… og N `more` til.»"""
    shown = [escape(line) for line in lines[:MAX_LISTED_LINES]]
    if len(lines) > len(shown):
        shown.append(f"… og {len(lines) - len(shown)} {more} til.")
    chunks: list[str] = []
    current = ""
    for line in shown:
        line = truncate(line, SECTION_LIMIT)
        if current and len(current) + 1 + len(line) > SECTION_LIMIT:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return [SectionBlock(text=MarkdownTextObject(text=chunk)) for chunk in chunks]


def import_errors_modal(filename: str, errors: Sequence[str]) -> View:
    """Every bad row with its line (up to what a modal holds), nothing imported."""
    intro = (
        f"Ingenting er importert fra {shown_file(filename)}: "
        f"{'1 feil' if len(errors) == 1 else f'{len(errors)} feil'}. "
        "Rett opp i filen og last den opp på nytt."
    )
    return View(
        type="modal",
        title="Feil i filen",
        close="Tilbake",
        blocks=[
            SectionBlock(block_id=NOTICE_BLOCK, text=MarkdownTextObject(text=intro)),
            *listed(errors, "feil"),
        ],
    )


def import_done_modal(summary: str) -> View:
    return notice_modal(f":white_check_mark: Importert: {summary}", title="Importert")
