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


def test_the_latency_model_charges_a_new_connection_two_more_round_trips() -> None:
    import time

    with FakeSlack(latency=0.1) as fake:
        client = WebClient(token="xoxb-test-token", base_url=fake.api_url)
        took = []
        for _ in range(2):
            started = time.monotonic()
            client.api_call("api.test")
            took.append(time.monotonic() - started)
    # WebClient opens a connection per call (urllib): each pays the handshakes too.
    assert all(0.29 <= t < 0.6 for t in took), took
    assert fake.new_connections == 2


def test_history_reads_are_limited_as_slack_limits_non_marketplace_apps(
    fake_slack: FakeSlack,
) -> None:
    fake_slack.limit_history(every=60.0, messages=15)
    client = WebClient(token="xoxb-test-token", base_url=fake_slack.api_url)
    for n in range(20):
        client.chat_postMessage(channel=CHANNEL, text=f"m{n}")
    first = client.conversations_history(channel=CHANNEL, limit=200)
    assert len(first["messages"]) == 15 and first["has_more"]
    assert first["messages"][0]["text"] == "m19"  # newest first
    with pytest.raises(SlackApiError) as refused:
        client.conversations_history(
            channel=CHANNEL, cursor=first["response_metadata"]["next_cursor"]
        )
    assert refused.value.response.status_code == 429
    assert int(refused.value.response.headers["retry-after"]) >= 59
    fake_slack.limit_history(None)
    rest = client.conversations_history(
        channel=CHANNEL, limit=200, cursor=first["response_metadata"]["next_cursor"]
    )
    # The cursor holds its place: the five older ones, none again.
    assert [m["text"] for m in rest["messages"]] == [f"m{n}" for n in range(4, -1, -1)]
    assert not rest["has_more"]


def test_a_workspace_limits_its_posts_per_minute(fake_slack: FakeSlack) -> None:
    fake_slack.limit_per_workspace(3)
    fake_slack.add_channel("C0OTHER", "annen", team_id=fake_slack.team_id)
    client = WebClient(token="xoxb-test-token", base_url=fake_slack.api_url)
    for channel in (CHANNEL, "C0OTHER", CHANNEL):
        client.chat_postMessage(channel=channel, text="t")
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C0OTHER", text="t")
    assert refused.value.response.status_code == 429
