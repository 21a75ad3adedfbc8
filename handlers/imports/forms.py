"""The import's two forms: choosing the file, and confirming what its preview shows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, InputBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.blocks.block_elements import FileInputElement
from slack_sdk.models.views import View

from handlers.core.blocks import NOTICE_BLOCK
from handlers.core.format import escape
from handlers.core.i18n import N_, _
from handlers.imports.views import listed, shown_file

# --- the file ------------------------------------------------------------------------------------

IMPORT_CALLBACK = "dks_import_file"
FILE_BLOCK = "file"
FILE_ACTION = "dks_import_file_input"
NO_FILE = N_("Velg en fil å importere.")

# The column names are the file format's (the same in every language); the words around
# them are the reader's.
IMPORT_HELP = N_(
    "*Kontakter og skoler* (CSV fra Excel, «;» eller «,», UTF-8 eller Windows-1252): første "
    "linje er kolonnenavn, for eksempel `skole;kommune;navn;rolle;e-post;telefon`. Kolonner "
    "boten kjenner: `navn`, `rolle`, `organisasjon`, `e-post`, `telefon`, `skole`, `kommune`, "
    "`fylke`, `kommunenummer`, `formål`, `merknad`, `slack`, `historisk`, `id`. En rad med bare "
    "skole (og kommune) "
    "legger inn skolen; en kontakt på en skole uten rolle blir kulturkontakt.\n"
    "*Kalender* (YAML, som `data/dks-kalender.yaml`): frister, møter og kontakter.\n"
    "Du får se hva som blir endret før noe lagres. Har filen feil, lagres ingenting."
)

IMPORT_TOURPLAN_HELP = N_(
    "*Turnéplan* (CSV fra fylket, som `data/turneplan-eksempel.csv`): `forestilling_id`, "
    "`produksjon`, `skole`, `dato`, `start` … Boten ser selv hva slags fil det er."
)


def import_modal() -> View:
    return View(
        type="modal",
        callback_id=IMPORT_CALLBACK,
        title=_("Importer"),
        submit=_("Forhåndsvis"),
        close=_("Avbryt"),
        blocks=[
            InputBlock(
                block_id=FILE_BLOCK,
                label=_("Fil"),
                element=FileInputElement(
                    action_id=FILE_ACTION, filetypes=["csv", "txt", "yaml", "yml"], max_files=1
                ),
            ),
            ContextBlock(elements=[MarkdownTextObject(text=_(IMPORT_HELP))]),
            ContextBlock(elements=[MarkdownTextObject(text=_(IMPORT_TOURPLAN_HELP))]),
        ],
    )


def chosen_file(view: dict[str, Any]) -> str | None:
    """The id of the file chosen (still to be fetched from Slack), or None if there is none."""
    files: Any = view
    for key in ("state", "values", FILE_BLOCK, FILE_ACTION, "files"):
        # Any level of a crafted submission may be of another type than Slack's.
        files = files.get(key) if isinstance(files, dict) else None
    if not isinstance(files, list) or not files or not isinstance(files[0], dict):
        return None
    return str(files[0].get("id") or "")


# --- the preview ---------------------------------------------------------------------------------

IMPORT_CONFIRM_CALLBACK = "dks_import_confirm"


def _hint(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def import_preview_modal(
    *, filename: str, summary: str, changes: Sequence[str], pending_id: str, changed: bool
) -> View:
    """What the file would change; «Importer» stores it, unless there is nothing to store."""
    blocks: list[Block] = [
        SectionBlock(
            block_id=NOTICE_BLOCK,
            text=MarkdownTextObject(text=f"{shown_file(filename)}: {escape(summary)}"),
        )
    ]
    if changes:
        blocks += [DividerBlock(), *listed(changes, "changes")]
    if not changed:
        blocks.append(_hint(_("Alt i filen er allerede lagt inn.")))
        return View(type="modal", title=_("Ingen endringer"), close=_("Lukk"), blocks=blocks)
    blocks.append(_hint(_("Trykk «Importer» for å lagre dette. Ingenting er lagret ennå.")))
    return View(
        type="modal",
        callback_id=IMPORT_CONFIRM_CALLBACK,
        title=_("Forhåndsvisning"),
        submit=_("Importer"),
        close=_("Avbryt"),
        private_metadata=json.dumps({"pending": pending_id}),
        blocks=blocks,
    )


def pending_id_of(view: dict[str, Any]) -> str:
    """The stored upload a preview stands for ("" for a preview that is not ours)."""
    try:
        return str(json.loads(view.get("private_metadata") or "{}").get("pending", ""))
    except (ValueError, AttributeError):
        return ""
