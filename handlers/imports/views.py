"""What an import shows besides its forms: the file's errors, and that it is done."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from handlers.core.blocks import NOTICE_BLOCK, SECTION_LIMIT, notice_modal
from handlers.core.format import escape, truncate
from handlers.core.i18n import N_, _, ngettext

MAX_LISTED_LINES = 120  # what a modal's 100 blocks hold, in sections of up to 3000 characters
FILENAME_LIMIT = 100
EXPIRED = N_(
    "Denne forhåndsvisningen er utløpt eller allerede importert. "
    "Trykk «Importer» på Home-fanen og last opp filen på nytt."
)


def shown_file(filename: str) -> str:
    return f"*{escape(truncate(filename, FILENAME_LIMIT))}*"


def _more(kind: Literal["changes", "errors"], n: int) -> str:
    if kind == "changes":
        return ngettext("… og %(n)d endring til.", "… og %(n)d endringer til.", n) % {"n": n}
    return ngettext("… og %(n)d feil til.", "… og %(n)d feil til.", n) % {"n": n}


def listed(lines: Sequence[str], more: Literal["changes", "errors"]) -> list[SectionBlock]:
    """Lines as sections (each under Slack's 3000 characters), cut at MAX_LISTED_LINES with
    «… og N endringer til.» (or «feil»)."""
    shown = [escape(line) for line in lines[:MAX_LISTED_LINES]]
    if len(lines) > len(shown):
        shown.append(_more(more, len(lines) - len(shown)))
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
    count = len(errors)
    intro = ngettext(
        "Ingenting er importert fra %(file)s: %(n)d feil. Rett opp i filen og last den opp på "
        "nytt.",
        "Ingenting er importert fra %(file)s: %(n)d feil. Rett opp i filen og last den opp på "
        "nytt.",
        count,
    ) % {"file": shown_file(filename), "n": count}
    return View(
        type="modal",
        title=_("Feil i filen"),
        close=_("Tilbake"),
        blocks=[
            SectionBlock(block_id=NOTICE_BLOCK, text=MarkdownTextObject(text=intro)),
            *listed(errors, "errors"),
        ],
    )


def import_done_modal(summary: str) -> View:
    return notice_modal(
        _(":white_check_mark: Importert: %(summary)s") % {"summary": summary},
        title=_("Importert"),
    )
