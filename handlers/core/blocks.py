"""Block Kit every feature uses: the notice modal, and the text of a reply that failed."""

from __future__ import annotations

from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from handlers.core.format import truncate

NOTICE_BLOCK = "notice"
MODAL_TITLE_LIMIT = 24
SECTION_LIMIT = 2900  # Slack allows 3000 characters of section text

ERROR_TEXT = (
    ":warning: Noe gikk galt hos meg, og jeg fikk ikke svart. Ingenting er lagret halvveis. "
    "Prøv igjen om litt – skjer det igjen, si fra til den som drifter boten."
)
# On a form's first field when storing failed: what the user wrote is still in the form.
FORM_ERROR_TEXT = (
    "Noe gikk galt hos meg. Det du har skrevet, står her fortsatt: prøv igjen om litt."
)


def notice_modal(text: str, *, title: str = "DKS-boten") -> View:
    """A modal with a message and only «Lukk»: refusals, and things that went away."""
    return View(
        type="modal",
        title=truncate(title, MODAL_TITLE_LIMIT),
        close="Lukk",
        blocks=[
            SectionBlock(
                block_id=NOTICE_BLOCK, text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT))
            )
        ],
    )
