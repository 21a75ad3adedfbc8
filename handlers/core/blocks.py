"""Block Kit every feature uses: the notice modal, and the text of a reply that failed."""

from __future__ import annotations

from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from handlers.core.format import truncate
from handlers.core.i18n import N_, _

NOTICE_BLOCK = "notice"
MODAL_TITLE_LIMIT = 24
SECTION_LIMIT = 2900  # Slack allows 3000 characters of section text

# Marked here, translated where they are shown: `_(ERROR_TEXT)`.
ERROR_TEXT = N_(
    ":warning: Noe gikk galt hos meg, og jeg fikk ikke svart. Ingenting er lagret halvveis. "
    "Prøv igjen om litt – skjer det igjen, si fra til den som drifter boten."
)
# On a form's first field when storing failed: what the user wrote is still in the form.
FORM_ERROR_TEXT = N_(
    "Noe gikk galt hos meg. Det du har skrevet, står her fortsatt: prøv igjen om litt."
)


def notice_modal(text: str, *, title: str | None = None) -> View:
    """A modal with a message and only «Lukk»: refusals, and things that went away. `text`
    and `title` come translated; the title defaults to the bot's name."""
    return View(
        type="modal",
        title=truncate(title or _("DKS-boten"), MODAL_TITLE_LIMIT),
        close=_("Lukk"),
        blocks=[
            SectionBlock(
                block_id=NOTICE_BLOCK, text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT))
            )
        ],
    )
