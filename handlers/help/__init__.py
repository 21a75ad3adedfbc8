"""`/dks hjelp`, and what anyone gets for `/dks` alone or a subcommand the bot does not know
(the router falls back to this subcommand). Lists every declared subcommand, in feature order.
"""

from __future__ import annotations

from handlers.core.commands import HELP, CommandRequest, Reply, Subcommand
from handlers.core.feature import Feature, no_listeners
from handlers.core.i18n import N_
from handlers.help.views import help_blocks


def run_help(request: CommandRequest) -> Reply:
    return help_blocks(request.subcommands, request.unknown_word)


SUBCOMMANDS = [
    Subcommand(
        name=HELP,
        aliases=("?",),
        words={"nn": "hjelp", "en": "help"},
        summary=N_("viser denne oversikten."),
        example=N_("/dks hjelp"),
        run=run_help,
    )
]

FEATURE = Feature(name="help", register=no_listeners, subcommands=SUBCOMMANDS)
