"""Signed requests exactly as Slack sends them; the shell and the tests share these."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier


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
    trigger_id: str = "13345224609.738474920.8088930838d88f008e0",
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
            "trigger_id": trigger_id,
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
    user_name: str = "bruker",
    api_app_id: str = "A0DKSBOT",
    trigger_id: str = "13345224609.738474920.8088930838d88f008e0",
) -> str:
    """The form body of a `block_actions` interaction on a button (payload=<json>)."""
    now = f"{time.time():.6f}"
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "trigger_id": trigger_id,
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
            "event_id": event_id or f"Ev{now:010d}",
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
