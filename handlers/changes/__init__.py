"""Change requests on the tour plan (endringsønsker på turnéplanen), after the county's
programme release.

- `/dks endringer` (nynorsk `endringar`, English `changes`): the round as each reader needs
  it — per school for coordinators, their own schools' buttons for a kulturkontakt;
  `/dks endringer start` (coordinators; also «Start endringsrunde» on the Home tab) opens the
  form for the closing date. Starting a round stores its deadline and DMs the kulturkontakt
  of each school with performances in the plan (notify.py).
- The kulturkontakt's buttons: «Se turnéplanen» (the school's performances), «Meld endring»
  (the form, forms.py; «Hvilken skole?» first for someone with several), «Alt ser bra ut»,
  «Se skolens endringer» with «Endre» and «Trekk tilbake» until the closing date.
- Who may file for a school is declared once, below: `CoordinatorOnly` rules, and access.py's
  (the school's own kulturkontakt, or a coordinator).
- Outbox kinds (kinds.py): the follow-up to schools that answered neither way (storage.changes
  plans it five and two working days before the closing date), and a request's new status
  when a new tour plan settled it (queued by the import).
- Home (coordinators, once there is a tour plan; home.py): the round per school, the
  requests with a status menu (the kulturkontakt gets a DM when it changes), «Se hele runden»
  (with «Endre eller trekk» on a school's behalf), the file for the county (export.py).
"""

from __future__ import annotations

from slack_bolt import App

from handlers.changes import listeners as on
from handlers.changes.access import (
    ANSWERS_FOR_SCHOOL,
    CHANGES_REQUEST,
    FILES_REQUEST,
    PICKS_SCHOOL,
)
from handlers.changes.forms import OPEN_CALLBACK, PICK_CALLBACK, REQUEST_CALLBACK
from handlers.changes.home import changes_section
from handlers.changes.kinds import render_followup, render_status
from handlers.changes.views import (
    EDIT_ACTION,
    EXPORT_ACTIONS,
    LIST_ACTION,
    NO_CHANGES_ACTION,
    PLAN_ACTION,
    REPORT_ACTION,
    ROUND_ACTION,
    START_ACTION,
    STATUS_ACTION,
    WITHDRAW_ACTION,
)
from handlers.core.access import CoordinatorOnly
from handlers.core.commands import Subcommand
from handlers.core.feature import Feature
from handlers.core.i18n import N_
from handlers.core.lazy import acknowledge
from handlers.core.outbox_kinds import Kind
from storage.changes import FOLLOWUP_KIND, STATUS_KIND

SUBCOMMANDS = [
    Subcommand(
        name="endringer",
        words={"nn": "endringar", "en": "changes"},
        aliases=("endring", "endringsønsker", "endringsønske", "endringsynske"),
        summary=N_(
            "endringsønsker på turnéplanen: se runden, og meld endringer for skolen din. "
            "Koordinatorer starter en runde med `start`."
        ),
        example=N_("/dks endringer start"),
        run=on.run_changes,
        coordinator=on.starts_round,
        refusal=N_(
            "Bare koordinatorer kan starte en endringsrunde. Skriv `/dks endringer` for å se "
            "runden og melde endringer for skolen din."
        ),
        works_after_ack=True,  # `start` opens the form
    )
]

STARTS_ROUND = CoordinatorOnly(N_("Bare koordinatorer kan starte en endringsrunde."))
# The whole round holds every school's comments and contact people.
DECIDES = CoordinatorOnly(
    N_("Bare koordinatorer kan se hele runden, endre status og laste ned filen til fylket.")
)


def register(app: App) -> None:
    app.action(START_ACTION, middleware=[STARTS_ROUND])(ack=acknowledge, lazy=[on.open_start])
    app.view(OPEN_CALLBACK, middleware=[STARTS_ROUND])(
        ack=on.submit_round, lazy=[on.after_round_opened]
    )
    app.action(PLAN_ACTION)(ack=acknowledge, lazy=[on.show_plan])
    app.action(REPORT_ACTION, middleware=[ANSWERS_FOR_SCHOOL])(
        ack=acknowledge, lazy=[on.open_report]
    )
    app.action(NO_CHANGES_ACTION, middleware=[ANSWERS_FOR_SCHOOL])(
        ack=acknowledge, lazy=[on.no_changes]
    )
    app.action(LIST_ACTION, middleware=[ANSWERS_FOR_SCHOOL])(
        ack=acknowledge, lazy=[on.show_school_requests]
    )
    app.action(EDIT_ACTION, middleware=[CHANGES_REQUEST])(ack=acknowledge, lazy=[on.open_edit])
    app.action(WITHDRAW_ACTION, middleware=[CHANGES_REQUEST])(ack=acknowledge, lazy=[on.withdraw])
    app.view(PICK_CALLBACK, middleware=[PICKS_SCHOOL])(on.submit_pick)
    app.view(REQUEST_CALLBACK, middleware=[FILES_REQUEST])(
        ack=on.submit_request, lazy=[on.after_request_saved]
    )
    app.action(ROUND_ACTION, middleware=[DECIDES])(ack=acknowledge, lazy=[on.show_round])
    app.action(STATUS_ACTION, middleware=[DECIDES])(ack=acknowledge, lazy=[on.choose_status])
    app.action(EXPORT_ACTIONS, middleware=[DECIDES])(ack=acknowledge, lazy=[on.send_export])


FEATURE = Feature(
    name="changes",
    register=register,
    subcommands=SUBCOMMANDS,
    outbox_kinds=[Kind(FOLLOWUP_KIND, render_followup), Kind(STATUS_KIND, render_status)],
    home_sections=[changes_section],
)
