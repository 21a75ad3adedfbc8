"""Feedback after each performance: the form, its type-ahead, the prompts, the summary and the
export.

- `/dks tilbakemelding` (alias `evaluering`) opens the form; «Gi tilbakemelding» in a prompt
  or on the Home tab opens it prefilled with the performance (and with the sender's answer,
  to edit), after the ack.
- The form's submission is validated and stored *before* the ack, because field errors can
  only travel in that ack; the store runs under a time budget well inside Slack's 3 seconds.
- `/dks tilbakemelding oppsummering [produksjon]`: averages for everyone; comments and the
  export buttons (a file in a DM, coordinators only) for coordinators.
- Outbox kinds: the prompt after a performance, its follow-ups, and the purge of the keys
  that could tell who answered once the edit window closes (storage.feedback plans them).
- Home: «Tilbakemeldinger som mangler».
"""

from __future__ import annotations

from slack_bolt import App

from handlers.core.access import CoordinatorOnly
from handlers.core.commands import Subcommand
from handlers.core.feature import Feature
from handlers.core.i18n import N_
from handlers.core.lazy import acknowledge
from handlers.core.outbox_kinds import Kind
from handlers.feedback.forms import FEEDBACK_CALLBACK_ID, PERFORMANCE_ACTION
from handlers.feedback.kinds import render_forget, render_prompt
from handlers.feedback.listeners import (
    forget_signed_versions,
    open_form,
    run_feedback,
    send_export,
    submit,
    suggest,
)
from handlers.feedback.missing import missing_feedback_section
from handlers.feedback.views import EXPORT_ACTIONS, OPEN_ACTION_PATTERN
from storage.feedback import FOLLOWUP_KIND, FORGET_KIND, PROMPT_KIND

SUBCOMMANDS = [
    Subcommand(
        name="tilbakemelding",
        words={"nn": "tilbakemelding", "en": "feedback"},
        aliases=("evaluering", "tilbakemeldinger", "tilbakemeldingar"),
        summary=N_(
            "gi tilbakemelding på en DKS-forestilling, eller se oppsummeringen "
            "(«oppsummering [produksjon]»)."
        ),
        example=N_("/dks tilbakemelding oppsummering"),
        run=run_feedback,
        works_after_ack=True,  # opens the form; purges expired keys after the summary
    )
]


# The export holds every answer's comments.
EXPORTS = CoordinatorOnly(N_("Bare koordinatorer kan laste ned tilbakemeldingene."))


def register(app: App) -> None:
    app.options(PERFORMANCE_ACTION)(suggest)
    app.action(OPEN_ACTION_PATTERN)(ack=acknowledge, lazy=[open_form])
    app.view(FEEDBACK_CALLBACK_ID)(ack=submit, lazy=[forget_signed_versions])
    app.action(EXPORT_ACTIONS, middleware=[EXPORTS])(ack=acknowledge, lazy=[send_export])


FEATURE = Feature(
    name="feedback",
    register=register,
    subcommands=SUBCOMMANDS,
    outbox_kinds=[
        Kind(PROMPT_KIND, render_prompt),
        Kind(FOLLOWUP_KIND, render_prompt),
        Kind(FORGET_KIND, render_forget, quiet_hours=False),
    ],
    home_sections=[missing_feedback_section],
    # The type-ahead is asked on every keystroke: Bolt tries this feature's listeners first.
    busy=True,
)
