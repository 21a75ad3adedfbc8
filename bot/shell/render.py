"""Render Slack messages readably in a terminal: headers, bullets, links, [Knapper]."""

from __future__ import annotations

import re
from typing import Any

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


def mrkdwn_to_text(text: str, *, bold: tuple[str, str] = ("", "")) -> str:
    def link(m: re.Match[str]) -> str:
        target, label = m.group(1), m.group(2)
        if target.startswith(("mailto:", "tel:")):
            return label
        return f"{label} ({target})"

    text = _LINK.sub(link, text)
    text = _BARE_LINK.sub(lambda m: m.group(1).removeprefix("mailto:").removeprefix("tel:"), text)
    text = _MENTION.sub(lambda m: m.group(1) + (m.group(3) or m.group(2)), text)
    text = re.sub(r"(?<!\w)\*([^*\n]+)\*(?!\w)", lambda m: bold[0] + m.group(1) + bold[1], text)
    for code, symbol in _EMOJI.items():
        text = text.replace(code, symbol)
    text = re.sub(r"(?<!\w)_([^_\n]+)_(?!\w)", r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_ANSI_BOLD = ("\033[1m", "\033[0m")


def render_message(
    message: dict[str, Any], buttons: list[dict[str, Any]], *, ansi: bool = False
) -> str:
    """Render a message; buttons found are appended to `buttons` and shown numbered."""
    bold = _ANSI_BOLD if ansi else ("", "")

    def _text_of(obj: dict[str, Any] | None) -> str:
        if not obj:
            return ""
        text = str(obj.get("text", ""))
        return mrkdwn_to_text(text, bold=bold) if obj.get("type") == "mrkdwn" else text

    blocks = message.get("blocks") or []
    if not blocks:
        return mrkdwn_to_text(str(message.get("text", "")), bold=bold)
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
            if accessory and accessory.get("type") == "button":
                buttons.append({"block_id": block.get("block_id", ""), "element": accessory})
                lines.append(f"  [{len(buttons)}: {_text_of(accessory.get('text'))}]")
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "context":
            lines.append("  " + "  ".join(_text_of(e) for e in block.get("elements", [])))
        elif kind == "actions":
            shown = []
            for element in block.get("elements", []):
                if element.get("type") == "button":
                    buttons.append({"block_id": block.get("block_id", ""), "element": element})
                    shown.append(f"[{len(buttons)}: {_text_of(element.get('text'))}]")
            lines.append("  " + "  ".join(shown))
    return "\n".join(lines).strip("\n")
