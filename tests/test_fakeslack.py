"""The fake Slack refuses what Slack refuses: its kept verdicts never let an invalid block by."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.shell.fakeslack import FakeSlack
from tests.conftest import CHANNEL


def _blocks(block_id: str = "b1", value: str = "v", label: str = "Ferdig") -> list[dict[str, Any]]:
    return [
        {"type": "section", "block_id": block_id, "text": {"type": "mrkdwn", "text": "Hei"}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "done",
                    "text": {"type": "plain_text", "text": label},
                    "value": value,
                }
            ],
        },
    ]


def test_blocks_are_judged_each_time_however_often_their_shape_was_seen(
    fake_slack: FakeSlack,
) -> None:
    client = WebClient(token="xoxb-test-token", base_url=fake_slack.api_url)
    for n in range(3):  # the same shape with other ids and values: all fine
        client.chat_postMessage(channel=CHANNEL, text="t", blocks=_blocks(f"b{n}", f"v{n}"))
    client.chat_postMessage(channel=CHANNEL, text="t", blocks=_blocks("b" * 255, "v" * 2000))
    for bad in (
        _blocks(block_id="b" * 256),  # block_id over 255
        _blocks(value="v" * 2001),  # a button value over 2,000
        _blocks(label="x" * 76),  # a button label over 75
        [{"type": "section"}],  # no text, no fields
    ):
        with pytest.raises(SlackApiError) as refused:
            client.chat_postMessage(channel=CHANNEL, text="t", blocks=bad)
        assert refused.value.response["error"] == "invalid_blocks"
    assert len(fake_slack.messages[CHANNEL]) == 4


def test_a_view_with_one_bad_element_is_refused_with_slack_sdks_reason(
    fake_slack: FakeSlack,
) -> None:
    client = WebClient(token="xoxb-test-token", base_url=fake_slack.api_url)
    home = {"type": "home", "blocks": _blocks()}
    client.views_publish(user_id="U1", view=home)
    client.views_publish(user_id="U1", view={**home, "blocks": _blocks() * 50})  # 100 blocks
    for bad, reason in (
        ({**home, "blocks": _blocks(label="x" * 76)}, "75"),
        ({**home, "blocks": _blocks() * 51}, "100"),
    ):
        with pytest.raises(SlackApiError) as refused:
            client.views_publish(user_id="U1", view=bad)
        assert refused.value.response["error"] == "invalid_arguments"
        assert reason in " ".join(refused.value.response["response_metadata"]["messages"])
