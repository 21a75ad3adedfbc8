"""What every «send me the file» button says when the file could not be made or sent.

One wording for all of them, each naming its own CLI command, so whoever runs the bot can
still get the file out; and telling it in a DM for a button with no reply of its own (the
Home tab's).
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.core.i18n import N_, _

EXPORT_FAILED = N_(
    "Jeg fikk ikke laget eller sendt filen. Prøv igjen om litt, eller be den som drifter "
    "boten kjøre `%(command)s`."
)


def export_failed_text(command: str) -> str:
    """«Jeg fikk ikke laget eller sendt filen …», naming `command` (`dks-bot export …`)."""
    return _(EXPORT_FAILED) % {"command": command}


def tell_export_failed(
    client: WebClient, *, user_id: str, command: str, logger: logging.Logger
) -> None:
    """The failure in a DM with `user_id`; a DM Slack refuses too is only logged."""
    try:
        channel = client.conversations_open(users=user_id)["channel"]["id"]
        client.chat_postMessage(channel=channel, text=export_failed_text(command))
    except SlackApiError as err:
        logger.warning("could not say the export failed: %s", err.response.get("error"))
