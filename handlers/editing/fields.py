"""What every edit form is made of: the modal's metadata, text fields whose length limit is
written once, and one reader for a `view_submission`'s state.

A `TextField` is both halves of a field: `block()` draws its input with `max_length=limit`,
and `FormState.text(field)` refuses a longer value (a crafted payload is not bound by what
Slack's input allows). Every input uses VALUE_ACTION as its action_id except the type-ahead
menus, which need their own ids so Slack's `block_suggestion` requests can be routed; values
are read by block_id.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    ExternalDataSelectElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    TimePickerElement,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from handlers.core.format import klokkeslett, truncate
from handlers.core.i18n import N_, _
from handlers.core.values import row_id
from storage.text import xml_safe

VALUE_ACTION = "value"
MODAL_DELETE_ACTION = "dks_modal_delete"
DELETE_BLOCK = "delete"
OPTION_TEXT_LIMIT = 75  # Slack's limit for an option's text

# The kinds of item the forms edit, as carried in ids and metadata.
KINDS = ("deadline", "meeting", "contact", "school")
DELETE_BUTTONS = {
    "deadline": N_("Slett fristen"),
    "meeting": N_("Slett møtet"),
    "contact": N_("Slett kontakten"),
    "school": N_("Slett skolen"),
}


@dataclass(frozen=True)
class ModalMeta:
    """What a modal is about, carried in its private_metadata."""

    kind: str
    item_id: int | None = None
    # "schools:<offset>": after saving, refresh the school list this modal was pushed from;
    # "edit": a delete confirmation pushed over the item's own edit modal.
    back: str | None = None
    # For a new contact opened from a school: the school it starts with.
    school_id: int | None = None
    # A past date the coordinator was asked about («Er datoen riktig?»): submitted again
    # unchanged, it is saved.
    past: date | None = None

    def dump(self) -> str:
        data: dict[str, Any] = {"k": self.kind}
        if self.item_id is not None:
            data["id"] = self.item_id
        if self.back:
            data["back"] = self.back
        if self.school_id is not None:
            data["school"] = self.school_id
        if self.past is not None:
            data["past"] = self.past.isoformat()
        return json.dumps(data)

    @classmethod
    def load(cls, raw: str | None) -> ModalMeta | None:
        """None when the metadata is not ours (a crafted or garbled payload)."""
        try:
            data = json.loads(raw or "")
            kind = str(data["k"])
            item_id = data.get("id")
            school_id = data.get("school")
            back = data.get("back")
            past = date.fromisoformat(data["past"]) if data.get("past") else None
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        if kind not in KINDS:
            return None
        # An id no row can have (2⁶³, true, 1e400) is not ours either.
        if item_id is not None and row_id(item_id) is None:
            return None
        if school_id is not None and row_id(school_id) is None:
            return None
        return cls(kind, item_id, str(back) if back else None, school_id, past)


# --- drawing -------------------------------------------------------------------------------------


def option(value: str, text: str) -> Option:
    return Option(value=value, text=truncate(text, OPTION_TEXT_LIMIT))


def _translated(message: str | None) -> str | None:
    return _(message) if message else None


@dataclass(frozen=True)
class TextField:
    """Declared at import, so its words are marked with N_() and translated when drawn."""

    block_id: str
    label: str
    limit: int
    # The error when it is left empty; empty: the field is optional.
    required: str = ""
    multiline: bool = False
    placeholder: str | None = None
    hint: str | None = None

    def block(
        self, value: str | None, *, placeholder: str | None = None, hint: str | None = None
    ) -> InputBlock:
        """`placeholder` and `hint` given here are already in the reader's language."""
        return InputBlock(
            block_id=self.block_id,
            label=_(self.label),
            optional=not self.required,
            hint=hint or _translated(self.hint),
            element=PlainTextInputElement(
                action_id=VALUE_ACTION,
                initial_value=value[: self.limit] if value else None,
                max_length=self.limit,
                multiline=self.multiline or None,
                placeholder=placeholder or _translated(self.placeholder),
            ),
        )


def optional_block(block_id: str, label: str, element: Any, hint: str | None = None) -> InputBlock:
    return InputBlock(block_id=block_id, label=label, optional=True, hint=hint, element=element)


def date_block(block_id: str, label: str, value: date | None, hint: str) -> InputBlock:
    initial = value.isoformat() if value else None
    picker = DatePickerElement(
        action_id=VALUE_ACTION, initial_date=initial, placeholder=_("Velg dato")
    )
    return optional_block(block_id, label, picker, hint)


def time_block(block_id: str, label: str, value: time | None) -> InputBlock:
    initial = klokkeslett(value) if value else None
    picker = TimePickerElement(
        action_id=VALUE_ACTION, initial_time=initial, placeholder=_("Velg klokkeslett")
    )
    return optional_block(block_id, label, picker)


def search_block(
    block_id: str,
    label: str,
    action_id: str,
    chosen: tuple[int, str] | None,
    hint: str | None = None,
) -> InputBlock:
    """A type-ahead menu of schools or municipalities; `chosen` is (id, label)."""
    menu = ExternalDataSelectElement(
        action_id=action_id,
        placeholder=_("Skriv for å søke"),
        min_query_length=0,
        initial_option=option(str(chosen[0]), chosen[1]) if chosen else None,
    )
    return optional_block(block_id, label, menu, hint)


def edit_modal(
    callback_id: str, title: str, meta: ModalMeta, blocks: list[Block], footer: str | None
) -> View:
    """An edit (or create) form: an existing item gets its «Slett» button and who changed it."""
    if meta.item_id is not None:
        blocks.append(
            ActionsBlock(
                block_id=DELETE_BLOCK,
                elements=[
                    ButtonElement(
                        text=_(DELETE_BUTTONS[meta.kind]),
                        action_id=MODAL_DELETE_ACTION,
                        value=f"{meta.kind}:{meta.item_id}",
                        style="danger",
                    )
                ],
            )
        )
    if footer:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=footer)]))
    return View(
        type="modal",
        callback_id=callback_id,
        title=title,
        submit=_("Lagre"),
        close=_("Avbryt"),
        private_metadata=meta.dump(),
        blocks=blocks,
    )


# What a submitted input holds, and where a view drawn again starts with it.
_INITIAL = {
    "value": "initial_value",
    "selected_date": "initial_date",
    "selected_time": "initial_time",
    "selected_option": "initial_option",
    "selected_user": "initial_user",
    "selected_options": "initial_options",
}


def _drawn_options(element: dict[str, Any], chosen: Any) -> Any:
    """The element's own options for the values chosen: Slack accepts an initial option only
    as it was drawn."""
    drawn = {
        o["value"]: o
        for o in element.get("options") or []
        if isinstance(o, dict) and isinstance(o.get("value"), str)
    }
    if not drawn:
        return chosen
    if isinstance(chosen, list):
        values = [o.get("value") for o in chosen if isinstance(o, dict)]
        return [drawn[v] for v in values if isinstance(v, str) and v in drawn]
    value = chosen.get("value") if isinstance(chosen, dict) else None
    return drawn.get(value) if isinstance(value, str) else None


def _cell(values: Any, *keys: Any) -> Any:
    for key in keys:
        if not isinstance(values, dict) or not isinstance(key, str):
            return None
        values = values.get(key)
    return values


def as_entered(view: dict[str, Any]) -> list[dict[str, Any]]:
    """A submitted modal's blocks, each input starting with what the user entered: the same
    form drawn again (`response_action: update`) keeps their values."""
    values = (view.get("state") or {}).get("values")
    blocks: list[dict[str, Any]] = []
    for raw in view.get("blocks") or []:
        if not isinstance(raw, dict):
            continue
        block = dict(raw)
        element = block.get("element")
        if block.get("type") == "input" and isinstance(element, dict):
            element = block["element"] = dict(element)
            state = _cell(values, block.get("block_id"), element.get("action_id"))
            for key, initial in _INITIAL.items():
                if not isinstance(state, dict) or key not in state:
                    continue
                chosen = state[key]
                if key in ("selected_option", "selected_options") and chosen:
                    chosen = _drawn_options(element, chosen)
                if chosen:
                    element[initial] = chosen
                else:
                    element.pop(initial, None)
        blocks.append(block)
    return blocks


# --- reading -------------------------------------------------------------------------------------


@dataclass
class Form:
    """Values ready for storage.items.save_item, or errors by block_id for the ack."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
# Slack's date picker goes from year 1 to 9999; at those ends the calendar's arithmetic (an
# occurrence's end, a reminder days before) falls off Python's dates. No DKS item is that far.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2199, 12, 31)


class FormState:
    """The values of a submitted modal, read by block_id; a bad value leaves an error."""

    def __init__(self, view: dict[str, Any]) -> None:
        values = (view.get("state") or {}).get("values") or {}
        self.values = values if isinstance(values, dict) else {}
        self.errors: dict[str, str] = {}

    def form(self, values: dict[str, Any]) -> Form:
        return Form(values, self.errors)

    def cell(self, block: str, action: str = VALUE_ACTION) -> dict[str, Any]:
        found = self.values.get(block)
        cell = found.get(action) if isinstance(found, dict) else None
        return cell if isinstance(cell, dict) else {}

    def text(self, spec: TextField) -> str | None:
        raw = self.cell(spec.block_id).get("value")
        value = xml_safe(raw).strip() if isinstance(raw, str) else ""
        if not value:
            if spec.required:
                self.errors[spec.block_id] = _(spec.required)
            return None
        if len(value) > spec.limit:
            self.errors[spec.block_id] = _("Høyst %(limit)d tegn (du skrev %(n)d).") % {
                "limit": spec.limit,
                "n": len(value),
            }
            return None
        return value

    def date(self, block: str) -> date | None:
        raw = self.cell(block).get("selected_date")
        if not raw:
            return None
        try:
            day = date.fromisoformat(str(raw))
        except ValueError:
            self.errors[block] = _("Velg en dato i kalenderen.")
            return None
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            self.errors[block] = _("Velg en dato mellom år %(first)d og %(last)d.") % {
                "first": EARLIEST_DAY.year,
                "last": LATEST_DAY.year,
            }
            return None
        return day

    def time(self, block: str) -> time | None:
        raw = self.cell(block).get("selected_time")
        if not raw:
            return None
        match = _CLOCK.fullmatch(str(raw))
        if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            self.errors[block] = _("Velg et klokkeslett, som 09:00.")
            return None
        return time(int(match.group(1)), int(match.group(2)))

    def option(self, block: str, action: str = VALUE_ACTION) -> str | None:
        selected = self.cell(block, action).get("selected_option")
        value = selected.get("value") if isinstance(selected, dict) else None
        return str(value) if value else None

    def number(self, block: str, action: str) -> int | None:
        """The id chosen in a type-ahead; still to be checked against the workspace."""
        value = self.option(block, action)
        if value is None:
            return None
        chosen = row_id(value)
        if chosen is None:
            self.errors[block] = _("Velg fra lista.")
        return chosen

    def checked(self, block: str, value: str) -> bool:
        chosen = self.cell(block).get("selected_options")
        # Slack sends a list; a forged body may send anything.
        if not isinstance(chosen, list):
            return False
        return any(isinstance(o, dict) and o.get("value") == value for o in chosen)
