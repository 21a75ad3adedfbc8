"""What a click on a button or menu asks the editing feature for, read from the payload:
a form to open (new or filled in), a delete confirmation, or a deadline marked done.

The values are the ones the Home tab (handlers/home/views.py) and the school list
(views.py) draw: a menu option is «verb:kind:id[:extra]», where extra is a deadline's
occurrence for «done», or the school list's page to come back to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from handlers.core.values import row_id
from handlers.editing.fields import KINDS, MODAL_DELETE_ACTION, ModalMeta
from handlers.editing.views import SCHOOLS_NEW_ACTION, schools_offset
from handlers.home.views import (
    HOME_CONTACT_PICK,
    HOME_NEW_CONTACT,
    HOME_NEW_DEADLINE,
    HOME_NEW_MEETING,
    ITEM_MENU_ACTION,
)

NEW_BY_BUTTON = {
    HOME_NEW_DEADLINE: "deadline",
    HOME_NEW_MEETING: "meeting",
    HOME_NEW_CONTACT: "contact",
}


@dataclass(frozen=True)
class OpenForm:
    meta: ModalMeta
    # A new contact's role, filled in (a kulturkontakt added from the school list).
    role: str | None = None


@dataclass(frozen=True)
class ConfirmDelete:
    meta: ModalMeta


@dataclass(frozen=True)
class MarkDone:
    deadline_id: int
    occurrence: date


Wanted = OpenForm | ConfirmDelete | MarkDone


def _selected(action: dict[str, Any]) -> str:
    option = action.get("selected_option")
    return str(option.get("value") or "") if isinstance(option, dict) else ""


def _menu(value: str) -> Wanted | None:
    verb, _, rest = value.partition(":")
    kind, _, rest = rest.partition(":")
    item, _, extra = rest.partition(":")
    item_id = row_id(item)
    if kind not in KINDS or item_id is None:
        return None
    back = f"schools:{extra}" if kind == "school" else None
    if verb == "edit":
        return OpenForm(ModalMeta(kind, item_id, back))
    if verb == "delete":
        return ConfirmDelete(ModalMeta(kind, item_id, back))
    if verb == "newcontact" and kind == "school":
        return OpenForm(ModalMeta("contact", school_id=item_id, back=back), role="kulturkontakt")
    if verb == "done" and kind == "deadline":
        try:
            return MarkDone(item_id, date.fromisoformat(extra))
        except ValueError:
            return None
    return None


def _delete_button(body: dict[str, Any], value: str) -> Wanted | None:
    """«Slett …» in an edit form; the confirmation remembers where the form came from."""
    kind, _, item = value.partition(":")
    item_id = row_id(item)
    if kind not in KINDS or item_id is None:
        return None
    current = ModalMeta.load((body.get("view") or {}).get("private_metadata"))
    back = current.back if current and current.back else "edit"
    return ConfirmDelete(ModalMeta(kind, item_id, back))


def wanted_by(body: dict[str, Any], action: dict[str, Any]) -> Wanted | None:
    """None for a value the bot did not draw (a crafted or stale payload)."""
    action_id = str(action.get("action_id") or "")
    if action_id in NEW_BY_BUTTON:
        return OpenForm(ModalMeta(NEW_BY_BUTTON[action_id]))
    if action_id == SCHOOLS_NEW_ACTION:
        offset = schools_offset(body.get("view") or {})
        return OpenForm(ModalMeta("school", back=f"schools:{offset}"))
    if action_id == HOME_CONTACT_PICK:
        picked = row_id(_selected(action))
        return OpenForm(ModalMeta("contact", picked)) if picked is not None else None
    if action_id == MODAL_DELETE_ACTION:
        return _delete_button(body, str(action.get("value") or ""))
    if action_id == ITEM_MENU_ACTION:
        return _menu(_selected(action))
    return None
