"""The change-request forms: opening a round, choosing a school, and the request itself.

Each form's ids, builder and parser live together. The request form's input blocks are named
after storage.changes.FIELDS, so a field error from storage lands on its own input; the limits
are storage's (MAX_CONTACT_PERSON, MAX_COMMENT), read by the builder (`max_length`) and
checked again by storage (a crafted payload is not bound by what Slack lets a user type).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DatePickerElement,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
    TimePickerElement,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from handlers.core.format import day_text, escape, klokkeslett, short_date, truncate
from handlers.core.i18n import N_, _
from handlers.core.values import row_id, whole_number
from handlers.editing.fields import FormState
from storage.changes import (
    MAX_COMMENT,
    MAX_CONTACT_PERSON,
    REASON_WORDS,
    RequestInput,
    RequestLine,
    SchoolRef,
)
from storage.tourplan import PerformanceInfo

# --- ids ---------------------------------------------------------------------------------------

OPEN_CALLBACK = "changes_open_round"
PICK_CALLBACK = "changes_pick_school"
REQUEST_CALLBACK = "changes_request"
VALUE_ACTION = "value"
CLOSING_BLOCK = "closing_date"
SCHOOL_BLOCK = "school"
PERFORMANCE_BLOCK = "performance"
REASON_BLOCK = "reason"
DATE_BLOCK = "wished_date"
TIME_BLOCK = "wished_time"
WEEK_BLOCK = "wished_week"
CONTACT_BLOCK = "contact_person"
COMMENT_BLOCK = "comment"
REQUEST_INPUTS = (
    PERFORMANCE_BLOCK,
    REASON_BLOCK,
    DATE_BLOCK,
    TIME_BLOCK,
    WEEK_BLOCK,
    CONTACT_BLOCK,
    COMMENT_BLOCK,
)

# --- limits ------------------------------------------------------------------------------------

OPTION_TEXT_LIMIT = 75  # Slack's limit for an option's text
OPTIONS_LIMIT = 100  # Slack's limit for a static select's options
MODAL_TITLE_LIMIT = 24
MAX_WEEK = 53

# --- words -------------------------------------------------------------------------------------
# Bokmål messages, translated where shown.

CHOOSE_CLOSING = N_("Velg datoen da skolene senest kan melde endringer.")
CHOOSE_SCHOOL = N_("Velg skolen.")
CHOOSE_FROM_LIST = N_("Velg fra lista.")
BAD_WEEK = N_("Uke må være et tall fra 1 til 53.")
NO_PERFORMANCES = N_(
    "Det er ingen forestillinger i turnéplanen fra i dag av. Importer turnéplanen først."
)


# --- metadata ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Meta:
    """What a change form carries in `private_metadata`: the round, the school, and the
    request being edited (None for a new one)."""

    round_id: int | None = None
    school_id: int | None = None
    request_id: int | None = None

    def dump(self) -> str:
        return json.dumps({"r": self.round_id, "s": self.school_id, "q": self.request_id})

    @classmethod
    def load(cls, raw: object) -> Meta:
        """Anything that is not ours (crafted, garbled) gives a Meta of Nones."""
        try:
            data = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return cls()
        return cls(row_id(data.get("r")), row_id(data.get("s")), row_id(data.get("q")))


# --- opening a round ---------------------------------------------------------------------------


def open_round_modal(*, today: date) -> View:
    """The coordinator's form: the closing date, nothing else."""
    return View(
        type="modal",
        callback_id=OPEN_CALLBACK,
        title=truncate(_("Endringsrunde"), MODAL_TITLE_LIMIT),
        submit=_("Start runden"),
        close=_("Avbryt"),
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=_(
                        "Når du starter runden, får kulturkontakten på hver skole med "
                        "forestillinger i turnéplanen en melding: de kan se skolens plan, melde "
                        "endringer eller svare at alt ser bra ut. Fristen blir en frist i "
                        "kalenderen, med påminnelser som vanlig."
                    )
                )
            ),
            InputBlock(
                block_id=CLOSING_BLOCK,
                label=_("Frist for skolene"),
                hint=_(
                    "Til og med denne dagen. Skoler som ikke har svart, får en påminnelse fem "
                    "og to arbeidsdager før."
                ),
                element=DatePickerElement(
                    action_id=VALUE_ACTION,
                    placeholder=_("Velg dato"),
                ),
            ),
            ContextBlock(
                elements=[
                    MarkdownTextObject(text=_("I dag er %(today)s.") % {"today": day_text(today)})
                ]
            ),
        ],
    )


def read_closing_date(view: Mapping[str, Any]) -> tuple[date | None, dict[str, str]]:
    state = FormState(dict(view))
    day = state.date(CLOSING_BLOCK)
    if day is None and CLOSING_BLOCK not in state.errors:
        state.errors[CLOSING_BLOCK] = _(CHOOSE_CLOSING)
    return day, state.errors


# --- choosing the school -----------------------------------------------------------------------


def school_option(school: SchoolRef) -> Option:
    return Option(value=str(school.id), text=truncate(school.label, OPTION_TEXT_LIMIT))


def pick_school_modal(*, round_id: int, schools: Sequence[SchoolRef]) -> View:
    """For someone who may file for more than one school: which one (theirs only; a
    coordinator's list is every school in the round)."""
    return View(
        type="modal",
        callback_id=PICK_CALLBACK,
        title=truncate(_("Meld endring"), MODAL_TITLE_LIMIT),
        submit=_("Neste"),
        close=_("Avbryt"),
        private_metadata=Meta(round_id=round_id).dump(),
        blocks=[
            InputBlock(
                block_id=SCHOOL_BLOCK,
                label=_("Hvilken skole gjelder det?"),
                element=StaticSelectElement(
                    action_id=VALUE_ACTION,
                    placeholder=_("Velg skole"),
                    options=[school_option(s) for s in schools[:OPTIONS_LIMIT]],
                ),
            )
        ],
    )


def read_picked_school(view: Mapping[str, Any]) -> tuple[int | None, dict[str, str]]:
    state = FormState(dict(view))
    raw = state.option(SCHOOL_BLOCK)
    if raw is None:
        return None, {SCHOOL_BLOCK: _(CHOOSE_SCHOOL)}
    school_id = row_id(raw)
    if school_id is None:
        return None, {SCHOOL_BLOCK: _(CHOOSE_FROM_LIST)}
    return school_id, {}


# --- the request -------------------------------------------------------------------------------


def performance_label(title: str, starts_local: date, clock: time) -> str:
    """«Brødrene Løvehjerte – 24.11.2026 kl. 08:30» within Slack's 75 characters."""
    when = _("%(when)s kl. %(time)s") % {
        "when": short_date(starts_local),
        "time": klokkeslett(clock),
    }
    room = OPTION_TEXT_LIMIT - len(when) - 3
    return f"{truncate(title, max(room, 10))} – {when}"[:OPTION_TEXT_LIMIT]


def performance_option(performance: PerformanceInfo, tz: ZoneInfo) -> Option:
    local = performance.starts_at.astimezone(tz)
    return Option(
        value=str(performance.id),
        text=performance_label(performance.title, local.date(), local.time()),
    )


def _filed_option(line: RequestLine) -> Option | None:
    if line.performance_id is None:
        return None
    return Option(
        value=str(line.performance_id),
        text=performance_label(line.production_title, line.day, line.start),
    )


def reason_options() -> list[Option]:
    return [Option(value=code, text=_(word)) for code, word in REASON_WORDS.items()]


def _reason_option(code: str | None) -> Option | None:
    word = REASON_WORDS.get(code or "")
    return Option(value=str(code), text=_(word)) if word else None


def request_modal(
    *,
    round_id: int,
    closing_date: date,
    school: SchoolRef,
    performances: Sequence[PerformanceInfo],
    tz: ZoneInfo,
    now: datetime,
    existing: RequestLine | None = None,
    chosen_performance: int | None = None,
) -> View:
    """The form for one school: a new request, or `existing` to edit. `performances` are the
    school's in the round; those cancelled or already begun are left out, except the one an
    edit is about."""
    options = [
        performance_option(p, tz) for p in performances if not p.cancelled and p.starts_at > now
    ]
    initial: Option | None = None
    wanted = existing.performance_id if existing else chosen_performance
    if wanted is not None:
        initial = next((o for o in options if o.value == str(wanted)), None)
        if initial is None and existing is not None:
            initial = _filed_option(existing)
            if initial is not None:
                options.insert(0, initial)
    options = options[:OPTIONS_LIMIT]
    if initial is not None and initial not in options:
        options[-1] = initial
    about = _("*%(school)s* · frist for endringer: %(day)s") % {
        "school": escape(school.label),
        "day": day_text(closing_date),
    }
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=about))]
    if existing is not None:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=_(":pencil2: Du endrer endringsønsket som ble meldt %(day)s.")
                        % {"day": day_text(existing.filed_at.astimezone(tz).date())}
                    )
                ]
            )
        )
    if options:
        blocks.append(
            InputBlock(
                block_id=PERFORMANCE_BLOCK,
                label=_("Forestilling"),
                element=StaticSelectElement(
                    action_id=VALUE_ACTION,
                    placeholder=_("Velg forestilling"),
                    options=options,
                    initial_option=initial,
                ),
            )
        )
    else:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=_("Skolen har ingen forestillinger i turnéplanen som kan endres.")
                )
            )
        )
    blocks.append(
        InputBlock(
            block_id=REASON_BLOCK,
            label=_("Grunn"),
            element=RadioButtonsElement(
                action_id=VALUE_ACTION,
                options=reason_options(),
                initial_option=_reason_option(existing.reason if existing else None),
            ),
        )
    )
    blocks.append(
        InputBlock(
            block_id=DATE_BLOCK,
            label=_("Ønsket dato"),
            optional=True,
            hint=_(
                "La datoen og uka stå tomme hvis dagen kan være den samme (for eksempel lokale)."
            ),
            element=DatePickerElement(
                action_id=VALUE_ACTION,
                placeholder=_("Velg dato"),
                initial_date=existing.wished_date.isoformat()
                if existing and existing.wished_date
                else None,
            ),
        )
    )
    blocks.append(
        InputBlock(
            block_id=TIME_BLOCK,
            label=_("Ønsket klokkeslett"),
            optional=True,
            element=TimePickerElement(
                action_id=VALUE_ACTION,
                placeholder=_("Velg klokkeslett"),
                initial_time=klokkeslett(existing.wished_time)
                if existing and existing.wished_time
                else None,
            ),
        )
    )
    blocks.append(
        InputBlock(
            block_id=WEEK_BLOCK,
            label=_("Eller: hvilken som helst dag i uke"),
            optional=True,
            hint=_("Ukenummer, 1–53. Bruk dato eller uke, ikke begge."),
            element=NumberInputElement(
                action_id=VALUE_ACTION,
                is_decimal_allowed=False,
                min_value="1",
                max_value=str(MAX_WEEK),
                initial_value=str(existing.wished_week)
                if existing and existing.wished_week
                else None,
            ),
        )
    )
    blocks.append(
        InputBlock(
            block_id=CONTACT_BLOCK,
            label=_("Kontaktperson"),
            optional=True,
            hint=_("Hvem fylket eller koordinatoren kan ringe om endringen, med telefonnummer."),
            element=PlainTextInputElement(
                action_id=VALUE_ACTION,
                max_length=MAX_CONTACT_PERSON,
                initial_value=existing.contact_person if existing else None,
            ),
        )
    )
    blocks.append(
        InputBlock(
            block_id=COMMENT_BLOCK,
            label=_("Kommentar"),
            optional=True,
            hint=_("Må fylles ut når grunnen er «annet»."),
            element=PlainTextInputElement(
                action_id=VALUE_ACTION,
                multiline=True,
                max_length=MAX_COMMENT,
                initial_value=existing.comment if existing else None,
            ),
        )
    )
    title = _("Endre ønsket") if existing else _("Meld endring")
    return View(
        type="modal",
        callback_id=REQUEST_CALLBACK,
        title=truncate(title, MODAL_TITLE_LIMIT),
        submit=_("Lagre") if existing else _("Send"),
        close=_("Avbryt"),
        private_metadata=Meta(
            round_id=round_id,
            school_id=school.id,
            request_id=existing.id if existing else None,
        ).dump(),
        blocks=blocks,
    )


def read_request(view: Mapping[str, Any]) -> tuple[RequestInput, dict[str, str], Meta]:
    """The form's values as storage takes them, the errors found before storage looks (a date
    that is no date, a week that is no number), and the metadata."""
    meta = Meta.load(view.get("private_metadata"))
    state = FormState(dict(view))
    performance = state.option(PERFORMANCE_BLOCK)
    performance_id = row_id(performance) if performance is not None else None
    if performance is not None and performance_id is None:
        state.errors[PERFORMANCE_BLOCK] = _(CHOOSE_FROM_LIST)
    reason = state.option(REASON_BLOCK)
    wished_date = state.date(DATE_BLOCK)
    wished_time = state.time(TIME_BLOCK)
    week_raw = state.cell(WEEK_BLOCK).get("value")
    wished_week = None
    if isinstance(week_raw, str) and week_raw.strip():
        wished_week = whole_number(week_raw.strip(), at_most=MAX_WEEK)
        if wished_week is None or wished_week < 1:
            state.errors[WEEK_BLOCK] = _(BAD_WEEK)
            wished_week = None
    contact = state.cell(CONTACT_BLOCK).get("value")
    comment = state.cell(COMMENT_BLOCK).get("value")
    data = RequestInput(
        school_id=meta.school_id,
        performance_id=performance_id,
        reason=reason,
        wished_date=wished_date,
        wished_time=wished_time,
        wished_week=wished_week,
        contact_person=contact if isinstance(contact, str) else None,
        comment=comment if isinstance(comment, str) else None,
    )
    return data, state.errors, meta


def on_inputs(errors: Mapping[str, str], inputs: Sequence[str], fallback: str) -> dict[str, str]:
    """Field errors keyed by input blocks the form has: storage's `school` (and anything else
    the form has no input for) goes on `fallback`."""
    placed: dict[str, str] = {}
    for key, message in errors.items():
        block = key if key in inputs else fallback
        placed[block] = f"{placed[block]} {message}" if block in placed else message
    return placed
