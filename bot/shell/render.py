"""Render Slack messages readably in a terminal: headers, bullets, links, [Knapper]."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_DATE_TOKEN = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<([^>|]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<((?:https?|mailto|tel):[^>]+)>")
_MENTION = re.compile(r"<([@#])([A-Z0-9]+)(?:\|([^>]+))?>")
_EMOJI = {
    ":spiral_calendar_pad:": "🗓",
    ":hourglass:": "⏳",
    ":warning:": "⚠",
    ":white_check_mark:": "✅",
    ":bell:": "🔔",
    ":alarm_clock:": "⏰",
}


def mrkdwn_to_text(
    text: str, *, bold: tuple[str, str] = ("", ""), names: Callable[[str], str | None] | None = None
) -> str:
    """Slack's mrkdwn as plain text; `names` gives a channel's or person's name for a bare
    `<#C…>` or `<@U…>` (Slack shows names, never ids)."""

    def link(m: re.Match[str]) -> str:
        target, label = m.group(1), m.group(2)
        if target.startswith(("mailto:", "tel:")):
            return label
        return f"{label} ({target})"

    # Slack shows a date token in the reader's own time zone; its fallback is the same moment.
    text = _DATE_TOKEN.sub(r"\1", text)
    text = _LINK.sub(link, text)
    text = _BARE_LINK.sub(lambda m: m.group(1).removeprefix("mailto:").removeprefix("tel:"), text)

    def mention(m: re.Match[str]) -> str:
        name = m.group(3) or (names(m.group(2)) if names else None)
        return m.group(1) + (name or m.group(2))

    text = _MENTION.sub(mention, text)
    text = re.sub(r"(?<!\w)\*([^*\n]+)\*(?!\w)", lambda m: bold[0] + m.group(1) + bold[1], text)
    for code, symbol in _EMOJI.items():
        text = text.replace(code, symbol)
    text = re.sub(r"(?<!\w)_([^_\n]+)_(?!\w)", r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_ANSI_BOLD = ("\033[1m", "\033[0m")
# Elements a person can press or pick from: numbered where they are shown.
MENUS = frozenset({"static_select", "external_select", "overflow", "users_select", "radio_buttons"})


def control_label(element: dict[str, Any], number: int) -> str:
    text = element.get("text") or element.get("placeholder") or {}
    label = str(text.get("text", "")) if isinstance(text, dict) else ""
    chosen = element.get("initial_option") or {}
    if chosen:
        label = (
            f"{label}: {(chosen.get('text') or {}).get('text', '')}"
            if label
            else str((chosen.get("text") or {}).get("text", ""))
        )
    if element.get("type") == "button":
        return f"[{number}: {label}]"
    if element.get("type") == "overflow":
        return f"[{number}: ⋯]"
    return f"[{number}: {label or '…'} ▾]"


def render_message(
    message: dict[str, Any],
    buttons: list[dict[str, Any]],
    *,
    ansi: bool = False,
    names: Callable[[str], str | None] | None = None,
) -> str:
    """Render a message; buttons found are appended to `buttons` and shown numbered."""
    bold = _ANSI_BOLD if ansi else ("", "")

    def _text_of(obj: dict[str, Any] | None) -> str:
        if not obj:
            return ""
        text = str(obj.get("text", ""))
        return mrkdwn_to_text(text, bold=bold, names=names) if obj.get("type") == "mrkdwn" else text

    blocks = message.get("blocks") or []
    if not blocks:
        return mrkdwn_to_text(str(message.get("text", "")), bold=bold, names=names)
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = _text_of(block.get("text"))
            lines += ["", title, "=" * len(title)]
        elif kind == "section":
            if block.get("text"):
                lines.append(_text_of(block["text"]))
            for field in block.get("fields") or []:
                lines.append("  " + _text_of(field))
            accessory = block.get("accessory")
            if accessory and (accessory.get("type") == "button" or accessory.get("type") in MENUS):
                buttons.append({"block_id": block.get("block_id", ""), "element": accessory})
                lines.append("  " + control_label(accessory, len(buttons)))
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "image":
            lines.append(f"[🖼 {block.get('alt_text', '')}]")
        elif kind == "context":
            lines.append("  " + "  ".join(_text_of(e) for e in block.get("elements", [])))
        elif kind == "actions":
            shown = []
            for element in block.get("elements", []):
                if element.get("type") == "button" or element.get("type") in MENUS:
                    buttons.append({"block_id": block.get("block_id", ""), "element": element})
                    shown.append(control_label(element, len(buttons)))
            lines.append("  " + "  ".join(shown))
    return "\n".join(lines).strip("\n")
