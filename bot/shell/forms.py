"""A modal as a form in the terminal: its fields, what each accepts, and the state Slack
would submit.

Pure functions and small classes, no terminal and no HTTP: the shell (bot/shell/shell.py)
asks the questions and sends the `view_submission`; these read the view the bot opened and
turn what a person typed into Slack's `view.state.values`. Every input block of a modal is
a field; what Slack would show around them (sections, context) is the form's text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.shell.render import mrkdwn_to_text
from handlers.core.i18n import _

# What a person may type for a date or a time, as a Norwegian writes them.
_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y", "%d/%m/%Y")
_TIME = re.compile(r"^(?:kl\.?\s*)?(\d{1,2})(?:[:.](\d{2}))?$")

# Element type → the key its value has in `view.state.values` (Slack's view_submission).
STATE_KEYS = {
    "plain_text_input": "value",
    "number_input": "value",
    "url_text_input": "value",
    "email_text_input": "value",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "users_select": "selected_user",
    "checkboxes": "selected_options",
    "multi_static_select": "selected_options",
    "file_input": "files",
}
_INITIAL_KEYS = {
    "plain_text_input": "initial_value",
    "number_input": "initial_value",
    "url_text_input": "initial_value",
    "email_text_input": "initial_value",
    "datepicker": "initial_date",
    "timepicker": "initial_time",
    "static_select": "initial_option",
    "external_select": "initial_option",
    "radio_buttons": "initial_option",
    "users_select": "initial_user",
    "checkboxes": "initial_options",
    "multi_static_select": "initial_options",
}
_MANY = frozenset({"checkboxes", "multi_static_select", "file_input"})


class AnswerError(ValueError):
    """What the person typed does not fit the field; the message says why, in their language."""


@dataclass
class Field:
    """One input block of a modal."""

    block_id: str
    action_id: str
    kind: str
    label: str
    hint: str = ""
    placeholder: str = ""
    optional: bool = False
    options: list[dict[str, Any]] = field(default_factory=list)
    element: dict[str, Any] = field(default_factory=dict)

    @property
    def state_key(self) -> str:
        return STATE_KEYS[self.kind]

    @property
    def initial(self) -> Any:
        key = _INITIAL_KEYS.get(self.kind)
        value = self.element.get(key) if key else None
        if value is None and self.kind in _MANY:
            return []
        return value

    @property
    def suggests(self) -> bool:
        """Type-ahead: the options come from the bot's `block_suggestion` listener."""
        return self.kind == "external_select"

    def shown_initial(self) -> str:
        """The initial value as the person would type it (the prompt's default)."""
        value = self.initial
        if not value:
            return ""
        if self.kind == "datepicker":
            return date.fromisoformat(value).strftime("%d.%m.%Y")
        if self.kind in ("static_select", "radio_buttons", "external_select"):
            return option_text(value)
        if self.kind in _MANY and self.kind != "file_input":
            values = [o.get("value") for o in value]
            return ",".join(
                str(i) for i, o in enumerate(self.options, 1) if o.get("value") in values
            )
        return str(value)


def option_text(option: dict[str, Any]) -> str:
    text = option.get("text") or {}
    label = str(text.get("text", ""))
    return mrkdwn_to_text(label) if text.get("type") == "mrkdwn" else label


def _text(obj: Any) -> str:
    if not isinstance(obj, dict):
        return ""
    text = str(obj.get("text", ""))
    return mrkdwn_to_text(text) if obj.get("type") == "mrkdwn" else text


def _options_of(element: dict[str, Any]) -> list[dict[str, Any]]:
    if element.get("options"):
        return list(element["options"])
    return [o for group in element.get("option_groups") or [] for o in group.get("options", [])]


def fields_of(view: dict[str, Any]) -> list[Field]:
    """The view's input blocks as fields, in the order Slack shows them."""
    found = []
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        element = block.get("element") or {}
        found.append(
            Field(
                block_id=str(block.get("block_id", "")),
                action_id=str(element.get("action_id", "")),
                kind=str(element.get("type", "")),
                label=_text(block.get("label")),
                hint=_text(block.get("hint")),
                placeholder=_text(element.get("placeholder")),
                optional=bool(block.get("optional")),
                options=_options_of(element),
                element=element,
            )
        )
    return found


def form_text(view: dict[str, Any]) -> str:
    """The title and what the modal says around its fields (sections, context)."""
    lines = [_text(view.get("title")), "=" * len(_text(view.get("title")))]
    for block in view.get("blocks") or []:
        kind = block.get("type")
        if kind == "header":
            lines.append(_text(block.get("text")))
        elif kind == "section":
            if block.get("text"):
                lines.append(_text(block["text"]))
            lines.extend("  " + _text(f) for f in block.get("fields") or [])
        elif kind == "context":
            lines.append("  " + "  ".join(_text(e) for e in block.get("elements") or []))
        elif kind == "divider":
            lines.append("-" * 40)
    return "\n".join(line for line in lines if line is not None).strip()


def field_text(number: int, item: Field, *, error: str | None = None) -> str:
    """How a field is shown before its question: label, hint, options, the error beside it."""
    optional = " " + _("(valgfritt)") if item.optional else ""
    lines = [f"{number}. {item.label}{optional}"]
    if item.hint:
        lines.append("   " + item.hint)
    for i, option in enumerate(item.options, 1):
        lines.append(f"   {i}) {option_text(option)}")
    if item.kind in _MANY and item.options:
        lines.append("   " + _("Skriv numrene med komma mellom, for eksempel 1,3."))
    elif item.kind == "datepicker":
        lines.append("   " + _("Dato, for eksempel 12.02.2027."))
    elif item.kind == "timepicker":
        lines.append("   " + _("Klokkeslett, for eksempel 09:00."))
    elif item.kind == "file_input":
        lines.append("   " + _("Skriv stien til en fil på maskinen din."))
    elif item.suggests:
        lines.append("   " + _("Skriv noen bokstaver; forslagene kommer fra boten."))
    if item.placeholder and not item.options and not item.initial:
        lines.append("   (" + item.placeholder + ")")
    if item.shown_initial():
        lines.append(
            "   " + _("Nå: %(value)s (Enter beholder det)") % {"value": item.shown_initial()}
        )
    if error:
        lines.append("   ⚠ " + error)
    return "\n".join(lines)


def parse_date(text: str) -> str:
    """«12.02.2027», «12.2.2027» or «2027-02-12» → "2027-02-12" (the datepicker's state)."""
    cleaned = text.strip()
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, pattern).date().isoformat()
        except ValueError:
            continue
    raise AnswerError(_("Skriv datoen som 12.02.2027 eller 2027-02-12."))


def parse_time(text: str) -> str:
    """«09:00», «9.00», «9» or «kl. 9» → "09:00" (the timepicker's state)."""
    match = _TIME.match(text.strip().casefold())
    if match:
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if hour < 24 and minute < 60:
            return f"{hour:02d}:{minute:02d}"
    raise AnswerError(_("Skriv klokkeslettet som 09:00."))


def choose(options: Sequence[dict[str, Any]], text: str) -> dict[str, Any]:
    """An option by its number or by (the start of) its text, case-insensitive."""
    typed = text.strip()
    if typed.isdigit() and 1 <= int(typed) <= len(options):
        return dict(options[int(typed) - 1])
    folded = typed.casefold()
    exact = [o for o in options if option_text(o).casefold() == folded]
    starts = [o for o in options if option_text(o).casefold().startswith(folded)]
    found = exact or starts
    if folded and len(found) == 1:
        return dict(found[0])
    raise AnswerError(
        _("Velg et av tallene 1–%(n)d.") % {"n": len(options)}
        if options
        else _("Det er ingenting å velge her.")
    )


def _chosen_many(options: Sequence[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    return [choose(options, p) for p in dict.fromkeys(parts)]


Upload = Callable[[str], dict[str, Any]]
Users = Callable[[str], str | None]


def state_of(
    item: Field,
    text: str,
    *,
    upload: Upload | None = None,
    user: Users | None = None,
) -> Any:
    """What `text` typed for `item` puts in the submitted state. An empty answer keeps the
    initial value (as an untouched Slack field does) and is refused for a required field
    without one. A type-ahead field's text goes to the bot first (the shell asks it)."""
    typed = text.strip()
    if not typed:
        if item.initial not in (None, [], ""):
            return item.initial
        if not item.optional:
            raise AnswerError(_("Dette feltet må fylles ut."))
        return [] if item.kind in _MANY else None
    if typed == "-" and item.optional:
        # «-» empties an optional field that has an initial value.
        return [] if item.kind in _MANY else None
    kind = item.kind
    if kind == "datepicker":
        return parse_date(typed)
    if kind == "timepicker":
        return parse_time(typed)
    if kind in ("static_select", "radio_buttons"):
        return choose(item.options, typed)
    if kind in ("checkboxes", "multi_static_select"):
        return _chosen_many(item.options, typed)
    if kind == "users_select":
        found_user = user(typed) if user else None
        if found_user is None:
            raise AnswerError(_("Finner ingen bruker som heter «%(name)s».") % {"name": typed})
        return found_user
    if kind == "file_input":
        if upload is None:
            raise AnswerError(_("Det er ingenting å velge her."))
        return [upload(typed)]
    if kind == "number_input":
        number = typed.replace(",", ".") if item.element.get("is_decimal_allowed") else typed
        if not re.fullmatch(r"-?\d+(\.\d+)?" if "." in number else r"-?\d+", number):
            raise AnswerError(_("Skriv et tall."))
        return number
    max_length = item.element.get("max_length")
    if max_length and len(typed) > int(max_length):
        raise AnswerError(
            _("Høyst %(n)d tegn; du skrev %(typed)d.") % {"n": int(max_length), "typed": len(typed)}
        )
    min_length = item.element.get("min_length")
    if min_length and len(typed) < int(min_length):
        raise AnswerError(_("Minst %(n)d tegn.") % {"n": int(min_length)})
    return text.rstrip("\n") if item.element.get("multiline") else typed


def state_values(fields: Sequence[Field], answers: dict[str, Any]) -> dict[str, Any]:
    """`view.state.values` as Slack submits the form: every input block, answered or with
    its initial value."""
    values: dict[str, Any] = {}
    for item in fields:
        value = answers.get(item.block_id, item.initial)
        values[item.block_id] = {item.action_id: {"type": item.kind, item.state_key: value}}
    return values


def suggestion_options(body: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The options a `block_suggestion` response offers (flat, groups opened)."""
    if not body:
        return []
    if body.get("options"):
        return list(body["options"])
    return [o for g in body.get("option_groups") or [] for o in g.get("options", [])]
