"""Signed requests exactly as Slack sends them; the shell and the tests share these."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier


def new_trigger_id() -> str:
    """A trigger_id shaped as Slack's; Slack sends a new one with every interaction, so two
    clicks or submissions are never the same signed request."""
    return f"{secrets.randbelow(10**11)}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"


def signed_headers(
    signing_secret: str, body: str, *, timestamp: int | None = None, content_type: str = ""
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {
        "content-type": content_type or "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature,
    }


def slash_command_body(
    *,
    text: str,
    team_id: str,
    user_id: str,
    channel_id: str,
    response_url: str,
    command: str = "/dks",
    user_name: str = "bruker",
    channel_name: str = "general",
    team_domain: str = "dks",
    api_app_id: str = "A0DKSBOT",
    trigger_id: str = "",
) -> str:
    """The form body of a slash command invocation (Slack's documented fields, in order)."""
    return urlencode(
        {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "team_id": team_id,
            "team_domain": team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or new_trigger_id(),
        }
    )


def block_actions_body(
    *,
    team_id: str,
    user_id: str,
    channel_id: str,
    response_url: str,
    action: dict[str, Any],
    block_id: str,
    message_ts: str = "1700000000.000100",
    is_ephemeral: bool = True,
    view: dict[str, Any] | None = None,
    message: dict[str, Any] | None = None,
    user_name: str = "bruker",
    api_app_id: str = "A0DKSBOT",
    trigger_id: str = "",
) -> str:
    """The form body of a `block_actions` interaction on a button (payload=<json>); a click
    on a message Slack still holds (not an ephemeral one) carries the `message` too."""
    now = f"{time.time():.6f}"
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": "dks"},
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [{**action, "block_id": block_id, "action_ts": now}],
        "state": {"values": {}},
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "V0")}
        payload["view"] = view
    else:
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        }
        payload["channel"] = {"id": channel_id, "name": "general"}
        if message is not None:
            payload["message"] = message
        payload["response_url"] = response_url
    return urlencode({"payload": json.dumps(payload, ensure_ascii=False)})


def interaction_body(payload: dict[str, Any]) -> str:
    """Any interactive payload (view_submission, block_suggestion, …) as Slack posts it."""
    return urlencode({"payload": json.dumps(payload, ensure_ascii=False)})


def event_body(
    *, team_id: str, event: dict[str, Any], api_app_id: str = "A0DKSBOT", event_id: str = ""
) -> str:
    """An Events API `event_callback` envelope (JSON body)."""
    now = int(time.time())
    return json.dumps(
        {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "team_id": team_id,
            "api_app_id": api_app_id,
            "event": {"event_ts": f"{now}.000100", **event},
            "type": "event_callback",
            # Unique per event, as Slack's are: the bot handles an event_id once.
            "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
            "event_time": now,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": "U0DKSBOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        },
        ensure_ascii=False,
    )


def button_action(element: dict[str, Any]) -> dict[str, Any]:
    """The `actions[]` entry Slack sends when a user clicks this button element."""
    action = {
        "action_id": element["action_id"],
        "text": {"type": "plain_text", "text": element["text"]["text"], "emoji": True},
        "type": "button",
    }
    if "value" in element:
        action["value"] = element["value"]
    return action


def overflow_action(element: dict[str, Any], value: str) -> dict[str, Any]:
    """The `actions[]` entry for choosing the option with `value` in an overflow menu."""
    option = next(o for o in element["options"] if o["value"] == value)
    return {
        "type": "overflow",
        "action_id": element["action_id"],
        "selected_option": {"text": option["text"], "value": option["value"]},
    }


def select_action(element: dict[str, Any], option: dict[str, Any]) -> dict[str, Any]:
    """The `actions[]` entry for picking `option` in a select menu outside an input block."""
    return {
        "type": element["type"],
        "action_id": element["action_id"],
        "selected_option": option,
    }


_STATE_KEYS = {
    "plain_text_input": ("value", "initial_value"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "static_select": ("selected_option", "initial_option"),
    "external_select": ("selected_option", "initial_option"),
    "users_select": ("selected_user", "initial_user"),
    "checkboxes": ("selected_options", "initial_options"),
    "file_input": ("files", ""),
}


def submitted_state(
    view: dict[str, Any], changes: dict[str, Any] | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """`view.state.values` as Slack submits a modal: every input block, holding its initial
    value unless the user changed it (`changes`: block_id → the new value, in the state's own
    form: text, "2027-02-12", "09:00", an option dict, a user id, a list of options/files)."""
    changes = changes or {}
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        kind = element["type"]
        state_key, initial_key = _STATE_KEYS[kind]
        if block["block_id"] in changes:
            value = changes[block["block_id"]]
        else:
            value = element.get(initial_key) if initial_key else None
        if kind in ("checkboxes", "file_input") and value is None:
            value = []
        values[block["block_id"]] = {element["action_id"]: {"type": kind, state_key: value}}
    return values


def view_submission_body(
    *,
    team_id: str,
    user_id: str,
    view: dict[str, Any],
    values: dict[str, Any],
    user_name: str = "bruker",
    api_app_id: str = "A0DKSBOT",
    trigger_id: str = "",
) -> str:
    """The form body of a `view_submission` (the modal as Slack stored it, with its state)."""
    submitted = {
        "id": view.get("id", "V0"),
        "team_id": team_id,
        "type": view.get("type", "modal"),
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": values},
        "hash": view.get("hash", "1700000000.abcdef"),
        "title": view.get("title"),
        "clear_on_close": False,
        "notify_on_close": False,
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": view.get("previous_view_id"),
        "root_view_id": view.get("root_view_id", view.get("id", "V0")),
        "app_id": api_app_id,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": "B0DKSBOT",
    }
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "dks"},
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "trigger_id": trigger_id or new_trigger_id(),
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return interaction_body(payload)


def block_suggestion_body(
    *,
    team_id: str,
    user_id: str,
    action_id: str,
    block_id: str,
    value: str,
    view: dict[str, Any] | None = None,
    user_name: str = "bruker",
    api_app_id: str = "A0DKSBOT",
) -> str:
    """An external_select asking for options: what the user has typed so far in `value`."""
    payload: dict[str, Any] = {
        "type": "block_suggestion",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "container": {"type": "view", "view_id": (view or {}).get("id", "V0")},
        "api_app_id": api_app_id,
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "team": {"id": team_id, "domain": "dks"},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if view is not None:
        payload["view"] = view
    return interaction_body(payload)
