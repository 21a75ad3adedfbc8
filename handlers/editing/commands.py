"""`/dks ny frist|møte|kontakt|skole`: the same forms as the Home tab's buttons.

The kind may be written in bokmål, nynorsk or English (`/dks ny skule`, `/dks new meeting`).
What follows it starts the new item's title or name: `/dks ny frist Søknad til fylket`.
"""

from __future__ import annotations

from handlers.core.commands import CommandRequest, Reply
from handlers.core.i18n import _
from handlers.editing.fields import ModalMeta
from handlers.editing.loading import build_modal
from storage.folding import fold

_KIND_WORDS = {
    "deadline": ("frist", "frister", "fristar", "deadline", "deadlines"),
    "meeting": ("møte", "møter", "møta", "moete", "meeting", "meetings"),
    "contact": ("kontakt", "kontakter", "kontaktar", "contact", "contacts"),
    "school": ("skole", "skoler", "skule", "skular", "school", "schools"),
}
# Folded, as typed words are: «Møte», «mote» and «moete» are the same word.
NEW_WORDS = {fold(word): kind for kind, words in _KIND_WORDS.items() for word in words}


def usage() -> str:
    return _(
        "Hva vil du legge inn? Skriv `/dks ny frist`, `/dks ny møte`, "
        "`/dks ny kontakt` eller `/dks ny skole`."
    )


def kind_named(args: str) -> str | None:
    return NEW_WORDS.get(fold(args.split(" ", 1)[0])) if args else None


def names_a_kind(args: str) -> bool:
    """Only opening a form needs a coordinator: the usage text is for anyone."""
    return kind_named(args) is not None


def typed_name(args: str) -> str | None:
    """The words after the kind, as typed: Slack sends `&`, `<` and `>` in a command's text
    as entities, and a plain-text field shows them as written."""
    rest = args.split(" ", 1)[1].strip() if " " in args else ""
    return rest.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") or None


def _open_form(request: CommandRequest, kind: str) -> None:
    view = build_modal(
        request.services,
        team_id=request.team_id,
        meta=ModalMeta(kind),
        name=typed_name(request.args),
    )
    request.client.views_open(trigger_id=request.trigger_id, view=view)


def run_new(request: CommandRequest) -> Reply:
    kind = kind_named(request.args)
    if kind is None:
        return Reply(usage())
    # The form opens after the ack instead of a reply.
    # A closure, not a partial: Bolt deep-copies the context for the lazy listener, and a
    # function is copied as itself (a partial would copy the request and its client).
    return Reply("", after=lambda: _open_form(request, kind))
