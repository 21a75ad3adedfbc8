"""`/dks hjem`: where the Home tab is, for those who never found it, with a link that opens it.

Slack opens an app's Home tab from `slack://app?team=<team>&id=<app>&tab=home` (its deep links;
the app's id comes with every slash command as `api_app_id`). Without an app id (a crafted
request) the reply still says where to look.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from handlers.core.commands import CommandRequest, Reply, Subcommand
from handlers.core.format import link
from handlers.core.i18n import N_, _

HOME = "hjem"
HOME_WORDS = {"nn": "heim", "en": "home"}
_SLACK_ID = re.compile(r"[A-Z0-9]{2,32}")


def home_link(team_id: str, app_id: str) -> str | None:
    """The deep link that opens this app's Home tab in the Slack client; None without ids."""
    if not (_SLACK_ID.fullmatch(team_id) and _SLACK_ID.fullmatch(app_id)):
        return None
    return "slack://app?" + urlencode({"team": team_id, "id": app_id, "tab": "home"})


def home_text(team_id: str, app_id: str) -> str:
    address = home_link(team_id, app_id)
    where = (
        link(address, _("Åpne Home-fanen min"))
        if address
        else _("Finn DKS-boten under Apper i Slack og velg Home-fanen")
    )
    return _(
        ":house: %(where)s. Der ligger de neste fristene og møtene, det som mangler dato eller "
        "kulturkontakt, og hvor påminnelsene går."
    ) % {"where": where}


def run_home(request: CommandRequest) -> Reply:
    text = home_text(request.team_id, request.api_app_id)
    return Reply(text, [SectionBlock(text=MarkdownTextObject(text=text))])


SUBCOMMANDS = [
    Subcommand(
        name=HOME,
        words=HOME_WORDS,
        aliases=("hjemme", "heime"),
        summary=N_("gir en lenke til Home-fanen, der frister, møter og knappene ligger samlet."),
        example=N_("/dks hjem"),
        run=run_home,
    )
]
