"""Reminders before deadlines and network meetings, posted in the workspace's chosen channel.

Entry points:
- `/dks påminnelser` (commands.py): the next reminders and their status for everyone; the
  channel, pause and days before for coordinators;
- the buttons on a posted reminder and on the channel offer, and the bot being invited into a
  channel (listeners.py);
- the outbox kinds the scheduler posts (kinds.py): the reminder, and the alert DM to
  coordinators when the channel refuses it;
- the `Changed` event (sync.py): a deadline or meeting changed, so its pending reminders are
  re-planned and the ones already posted are edited.
"""

from __future__ import annotations

from slack_bolt import App

from handlers.core.access import CoordinatorOnly
from handlers.core.commands import Subcommand
from handlers.core.feature import Feature
from handlers.core.i18n import N_
from handlers.core.lazy import acknowledge
from handlers.core.outbox_kinds import Kind
from handlers.reminders.commands import run_reminders, writes
from handlers.reminders.kinds import (
    reminder_inputs,
    render_alert,
    render_reminder,
    render_reminders,
)
from handlers.reminders.listeners import (
    bot_joined_channel,
    done_clicked,
    snooze_clicked,
    undo_clicked,
    use_channel_clicked,
)
from handlers.reminders.sync import on_change
from handlers.reminders.views import DONE_ACTION, SNOOZE_ACTIONS, UNDO_ACTION, USE_CHANNEL_ACTION
from handlers.reminders.words import REMINDERS
from storage.reminders import ALERT_KIND, REMINDER_KIND

# The words (`påminnelser`, nynorsk `påminningar`, English `reminders`, and the verbs after
# them) are words.py's: one table routes them and writes them in replies. The summary and the
# example are in the catalogs, where each language writes its own words.
SUBCOMMANDS = [
    Subcommand(
        name=REMINDERS.name,
        words=REMINDERS.words,
        aliases=REMINDERS.aliases,
        summary=N_(
            "de neste påminnelsene om frister og møter. Koordinatorer velger kanal "
            "(`kanal #kanal`), pause (`av`/`på`) og dager før (`dager 14,7,1`); "
            "`status` viser feil."
        ),
        example=N_("/dks påminnelser kanal #dks"),
        run=run_reminders,
        coordinator=writes,
        refusal=N_(
            "Bare koordinatorer kan endre påminnelsene. Spør en koordinator i arbeidsområdet, "
            "eller se de neste påminnelsene med `/dks påminnelser`."
        ),
    )
]

CHOOSES_CHANNEL = CoordinatorOnly(
    N_("Bare koordinatorer kan velge kanal for påminnelser. Spør en koordinator om å trykke.")
)


def register(app: App) -> None:
    app.action(DONE_ACTION)(ack=acknowledge, lazy=[done_clicked])
    app.action(UNDO_ACTION)(ack=acknowledge, lazy=[undo_clicked])
    app.action(SNOOZE_ACTIONS)(ack=acknowledge, lazy=[snooze_clicked])
    app.action(USE_CHANNEL_ACTION, middleware=[CHOOSES_CHANNEL])(
        ack=acknowledge, lazy=[use_channel_clicked]
    )
    # The offer is posted after the ack: Slack retries an event not answered within 3 s.
    app.event("member_joined_channel")(ack=acknowledge, lazy=[bot_joined_channel])


FEATURE = Feature(
    name="reminders",
    register=register,
    subcommands=SUBCOMMANDS,
    outbox_kinds=[
        Kind(REMINDER_KIND, render_reminder, render_many=render_reminders, inputs=reminder_inputs),
        # Quiet hours hold the alert DM too: one at 03:00 would buzz a coordinator's phone.
        Kind(ALERT_KIND, render_alert),
    ],
    subscribers=[on_change],
)
