"""The fake Slack's files as slack_sdk's files_upload_v2 makes them, and image blocks that show
them (`slack_file`): refused with Slack's own `invalid_blocks` answer unless the file is an
image shared in the conversation the message goes to."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ImageBlock

from bot.shell.fakeslack import FakeSlack
from tests.conftest import ADMIN, CHANNEL, MEMBER

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\x00\x00\x00\x03\x00\x01\x8d::\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


TEXT = {"type": "section", "text": {"type": "mrkdwn", "text": "Tall"}}


def _client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test-token", base_url=fake.api_url)


def _image(source: dict[str, Any], alt: str = "Forestillinger per kunstuttrykk") -> dict:
    block = ImageBlock(slack_file=source, alt_text=alt, block_id="chart")
    return block.to_dict()  # what slack_sdk's own models make, validated


def _refusal(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as refused:
        call()
    return dict(refused.value.response.data)


def _upload(client: WebClient, channel: str | None, name: str = "diagram.png") -> str:
    response = client.files_upload_v2(
        file=PNG, filename=name, title="Diagram", channel=channel, initial_comment="Diagrammene"
    )
    return str(response["file"]["id"])


def test_upload_v2_shares_the_file_in_the_dm_with_a_file_message(fake_slack: FakeSlack) -> None:
    client = _client(fake_slack)
    dm = client.conversations_open(users=ADMIN)["channel"]["id"]
    file_id = _upload(client, dm)
    methods = [c.method for c in fake_slack.calls]
    assert methods[-2:] == ["files.getUploadURLExternal", "files.completeUploadExternal"]
    assert fake_slack.calls_to("files.completeUploadExternal")[-1].args["channel_id"] == dm
    assert fake_slack.shared_in(file_id) == [dm]
    [message] = fake_slack.messages[dm]
    assert message["text"] == "Diagrammene"
    assert [f["id"] for f in message["files"]] == [file_id]
    info = client.files_info(file=file_id)["file"]
    assert info["ims"] == [dm] and info["channels"] == []
    assert list(info["shares"]["private"]) == [dm]
    assert info["mimetype"] == "image/png"
    # The bytes are the ones uploaded, downloadable with the bot's token.
    got = httpx.get(
        info["url_private_download"], headers={"authorization": "Bearer xoxb-test-token"}
    )
    assert got.content == PNG
    # Opening the same DM again is a no-op, as Slack says.
    again = client.conversations_open(users=ADMIN)
    assert again["channel"]["id"] == dm and again["already_open"] is True


def test_an_image_block_shows_a_file_shared_in_that_conversation(fake_slack: FakeSlack) -> None:
    client = _client(fake_slack)
    dm = client.conversations_open(users=ADMIN)["channel"]["id"]
    file_id = _upload(client, dm)
    info = client.files_info(file=file_id)["file"]
    for source in ({"id": file_id}, {"url": info["url_private"]}, {"url": info["permalink"]}):
        posted = client.chat_postMessage(channel=dm, text="Rapport", blocks=[_image(source)])
        assert posted["message"]["blocks"][0]["slack_file"] == source
    # chat.update may show it too, in the same conversation.
    ts = posted["ts"]
    client.chat_update(channel=dm, ts=ts, text="Rapport", blocks=[_image({"id": file_id})])
    # Addressed by the user's id, a message goes to the same DM.
    client.chat_postMessage(channel=ADMIN, text="Rapport", blocks=[_image({"id": file_id})])


def test_a_file_not_shared_in_the_conversation_is_refused_as_slack_does(
    fake_slack: FakeSlack,
) -> None:
    client = _client(fake_slack)
    dm = client.conversations_open(users=ADMIN)["channel"]["id"]
    other_dm = client.conversations_open(users=MEMBER)["channel"]["id"]
    in_dm = _upload(client, dm)
    private = _upload(client, None)  # no channel: private to the bot, shared nowhere
    csv = _upload(client, dm, name="tall.csv")
    cases = [
        (dm, {"id": "F0NOSUCH"}),  # unknown
        (dm, {"id": private}),  # uploaded, never shared
        (other_dm, {"id": in_dm}),  # shared, but in another conversation
        (CHANNEL, {"id": in_dm}),
        (dm, {"id": csv}),  # not an image
        (dm, {"url": "https://example.com/x.png"}),  # not a Slack file
    ]
    for channel, source in cases:
        answer = _refusal(
            lambda channel=channel, source=source: client.chat_postMessage(
                channel=channel,
                text="Rapport",
                blocks=[TEXT, _image(source)],
            )
        )
        reason = "invalid slack file [json-pointer:/blocks/1/slack_file]"
        assert answer == {
            "ok": False,
            "error": "invalid_blocks",
            "errors": [reason],
            "response_metadata": {"messages": [f"[ERROR] {reason}"]},
        }, (channel, source)
    # Both sources at once are refused too; so is an image element in a section.
    both = {"type": "image", "alt_text": "x", "slack_file": {"id": in_dm, "url": "u"}}
    assert _refusal(lambda: client.chat_postMessage(channel=dm, text="t", blocks=[both]))[
        "errors"
    ] == ["invalid slack file [json-pointer:/blocks/0/slack_file]"]
    accessory = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "Tall"},
        "accessory": {"type": "image", "alt_text": "x", "slack_file": {"id": private}},
    }
    assert _refusal(lambda: client.chat_postMessage(channel=dm, text="t", blocks=[accessory]))[
        "errors"
    ] == ["invalid slack file [json-pointer:/blocks/0/accessory/slack_file]"]
    # chat.update refuses the same; the message stays as it was.
    ts = client.chat_postMessage(channel=other_dm, text="Før")["ts"]
    answer = _refusal(
        lambda: client.chat_update(
            channel=other_dm, ts=ts, text="Etter", blocks=[_image({"id": in_dm})]
        )
    )
    assert answer["error"] == "invalid_blocks"
    assert fake_slack.messages[other_dm][-1]["text"] == "Før"
    # Nothing refused was posted.
    assert [m.get("upload") for m in fake_slack.messages[dm]] == [True, True]


def test_a_share_completes_after_share_delay_as_slacks_does(fake_slack: FakeSlack) -> None:
    fake_slack.share_delay = 0.5
    client = _client(fake_slack)
    dm = client.conversations_open(users=ADMIN)["channel"]["id"]
    file_id = _upload(client, dm)
    assert client.files_info(file=file_id)["file"]["ims"] == []
    answer = _refusal(
        lambda: client.chat_postMessage(channel=dm, text="t", blocks=[_image({"id": file_id})])
    )
    assert answer["error"] == "invalid_blocks"
    time.sleep(0.6)
    assert client.files_info(file=file_id)["file"]["ims"] == [dm]
    client.chat_postMessage(channel=dm, text="t", blocks=[_image({"id": file_id})])


def test_another_workspaces_file_is_unknown(fake_slack: FakeSlack) -> None:
    fake_slack.add_workspace("T0ANDRE", name="Andre", bot_user_id="U0ANDREBOT", bot_id="B0ANDRE")
    fake_slack.add_user("U0ANDRE", "Ola Andre", team_id="T0ANDRE")
    other = WebClient(token=fake_slack.issue_bot_token("T0ANDRE"), base_url=fake_slack.api_url)
    their_dm = other.conversations_open(users="U0ANDRE")["channel"]["id"]
    theirs = _upload(other, their_dm)
    client = _client(fake_slack)
    dm = client.conversations_open(users=ADMIN)["channel"]["id"]
    assert (
        _refusal(
            lambda: client.chat_postMessage(channel=dm, text="t", blocks=[_image({"id": theirs})])
        )["error"]
        == "invalid_blocks"
    )
    # Their own bot may show it in their DM.
    other.chat_postMessage(channel=their_dm, text="t", blocks=[_image({"id": theirs})])


def test_permalink_of_a_posted_message(fake_slack: FakeSlack) -> None:
    client = _client(fake_slack)
    dm = client.conversations_open(users=ADMIN)["channel"]["id"]
    ts = client.chat_postMessage(channel=dm, text="Rapport")["ts"]
    link = client.chat_getPermalink(channel=dm, message_ts=ts)["permalink"]
    assert link.endswith(f"/archives/{dm}/p{ts.replace('.', '')}")
    assert link.startswith("https://")
    answer = _refusal(lambda: client.chat_getPermalink(channel=dm, message_ts="1.000001"))
    assert answer["error"] == "message_not_found"
