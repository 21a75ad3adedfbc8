"""Languages: bokmål, nynorsk or English, for the workspace and for each person.

- `/dks språk` shows both choices; `/dks språk nynorsk|bokmål|english` sets the workspace's
  (coordinators); `/dks språk meg nynorsk|bokmål|english|standard` sets the reader's own
  (commands.py, words in choices.py);
- the Home tab's «Språk» section has a menu for each (home.py); the workspace's menu is
  wired with `coordinator_only`.

The language in force per request is set by the app's middleware (bot/app.py), from what is
stored here: storage.workspaces.set_workspace_language / set_user_language.
"""

from __future__ import annotations

from slack_bolt import App

from handlers.core.access import coordinator_only
from handlers.core.commands import Subcommand
from handlers.core.feature import Feature
from handlers.core.i18n import N_
from handlers.core.lazy import acknowledge
from handlers.language.choices import sets_workspace
from handlers.language.commands import run_language
from handlers.language.home import (
    OWN_ACTION,
    WORKSPACE_ACTION,
    choose_own,
    choose_workspace,
    language_section,
)

SUBCOMMANDS = [
    Subcommand(
        name="språk",
        aliases=("sprak", "spraak", "målform", "malform"),
        words={"nn": "språk", "en": "language"},
        summary=N_(
            "viser hvilket språk boten skriver. Velg ditt eget med `meg nynorsk`, `meg bokmål`, "
            "`meg english` eller `meg standard`; en koordinator velger arbeidsområdets."
        ),
        example=N_("/dks språk meg nynorsk"),
        run=run_language,
        coordinator=sets_workspace,
        refusal=N_(
            "Bare koordinatorer kan velge språk for arbeidsområdet. Du kan velge ditt eget med "
            "`/dks språk meg nynorsk`, `bokmål` eller `english`."
        ),
    )
]


def register(app: App) -> None:
    app.action(OWN_ACTION)(ack=acknowledge, lazy=[choose_own])
    app.action(WORKSPACE_ACTION, middleware=[coordinator_only])(
        ack=acknowledge, lazy=[choose_workspace]
    )


FEATURE = Feature(
    name="language",
    register=register,
    subcommands=SUBCOMMANDS,
    home_sections=[language_section],
)
