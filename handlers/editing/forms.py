"""The edit forms, each with its ids, its fields (limits written once), its builder and its
parser: deadline and meeting (one calendar form, the meeting with more fields), contact,
school, and the delete confirmation.

Builders are pure (rows and texts in, `slack_sdk.models` views out). Parsers read a
`view_submission` and return values for storage.items.save_item or field errors for the ack;
ids the user chose in a type-ahead still need checking against the workspace (changes.py),
since a crafted payload can name any id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, time
from typing import Any, Literal
from urllib.parse import urlsplit

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ContextBlock,
    InputBlock,
    Option,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from handlers.core.blocks import NOTICE_BLOCK
from handlers.core.format import date_span, escape, truncate
from handlers.core.i18n import N_, _
from handlers.editing.fields import (
    VALUE_ACTION,
    Form,
    FormState,
    ModalMeta,
    TextField,
    as_entered,
    date_block,
    edit_modal,
    option,
    optional_block,
    search_block,
    time_block,
)
from storage.models import Contact, DatePrecision, Deadline, Meeting, MeetingForm, School
from storage.reminders import OffsetError, format_offsets, parse_offsets

SCHOOL_SELECT_ACTION = "dks_pick_school"
MUNICIPALITY_SELECT_ACTION = "dks_pick_municipality"
SCHOOL_BLOCK = "school"
MUNICIPALITY_BLOCK = "municipality"

# --- deadline and meeting ------------------------------------------------------------------------

DEADLINE_CALLBACK = "dks_edit_deadline"
MEETING_CALLBACK = "dks_edit_meeting"

TITLE_BLOCK = "title"
DATE_BLOCK = "date"
TIME_BLOCK = "time"
END_DATE_BLOCK = "end_date"
END_TIME_BLOCK = "end_time"
RECURRENCE_BLOCK = "recurrence"
AUDIENCE_BLOCK = "audience"
LINK_BLOCK = "link"
DESCRIPTION_BLOCK = "description"
REMINDERS_BLOCK = "reminders"
KIND_BLOCK = "kind"
FORM_BLOCK = "form"
PLACE_BLOCK = "place"
PAST_DATE_BLOCK = "past_date"

TITLE = TextField(TITLE_BLOCK, N_("Tittel"), 200, required=N_("Skriv en tittel."))
AUDIENCE = TextField(AUDIENCE_BLOCK, N_("Gjelder"), 200)
LINK = TextField(LINK_BLOCK, N_("Lenke"), 500, placeholder="https://…")
DESCRIPTION = TextField(DESCRIPTION_BLOCK, N_("Beskrivelse"), 2000, multiline=True)
REMINDERS = TextField(REMINDERS_BLOCK, N_("Påminnelser (dager før)"), 64, placeholder=N_("14,7,1"))
MEETING_KIND = TextField(
    KIND_BLOCK,
    N_("Type møte"),
    60,
    placeholder=N_("nettverksmøte, fellessamling, veiledning …"),
    hint=N_("Tom: «møte»."),
)
PLACE = TextField(PLACE_BLOCK, N_("Sted"), 200)
# What an empty «Type møte» stores: the plain kind, which the reminders leave unsaid.
PLAIN_MEETING = "møte"

RECURRENCE_KEEP = "keep"
RECURRENCES: tuple[tuple[str, str, str | None], ...] = (
    ("none", N_("ingen"), None),
    ("yearly", N_("årlig"), "FREQ=YEARLY"),
    ("halfyearly", N_("halvårlig"), "FREQ=MONTHLY;INTERVAL=6"),
    ("monthly", N_("månedlig"), "FREQ=MONTHLY"),
)
RULE_BY_CHOICE = {value: rule for value, _label, rule in RECURRENCES}
CHOICE_BY_RULE = {rule: value for value, _label, rule in RECURRENCES}

FORM_CHOICES: tuple[tuple[MeetingForm, str], ...] = (
    (MeetingForm.UNKNOWN, N_("ikke bestemt")),
    (MeetingForm.DIGITAL, N_("digitalt")),
    (MeetingForm.PHYSICAL, N_("fysisk oppmøte")),
    (MeetingForm.HYBRID, N_("fysisk og digitalt")),
)

CalendarKind = Literal["deadline", "meeting"]


@dataclass(frozen=True)
class CalendarWords:
    """What differs in the words of the deadline and the meeting form (marked with N_(),
    translated where drawn)."""

    callback_id: str
    new_title: str
    edit_title: str
    date_label: str
    time_label: str
    title_example: str
    audience_example: str
    reminders_hint: str


CALENDAR_WORDS: dict[CalendarKind, CalendarWords] = {
    "deadline": CalendarWords(
        DEADLINE_CALLBACK,
        N_("Ny frist"),
        N_("Endre frist"),
        N_("Frist"),
        N_("Klokkeslett"),
        N_("For eksempel: Årsrapportering av DKS til fylket"),
        N_("For eksempel: kommunekontakt, kulturkontakter"),
        N_(
            "Antall dager før fristen påminnelsene kommer, skilt med komma. "
            "Tom: arbeidsområdets standard. 0 betyr samme dag."
        ),
    ),
    "meeting": CalendarWords(
        MEETING_CALLBACK,
        N_("Nytt møte"),
        N_("Endre møte"),
        N_("Dato"),
        N_("Starter kl."),
        N_("For eksempel: Nettverksmøte for kulturkontaktene"),
        N_("For eksempel: kulturkontakter, kommunegruppa"),
        N_(
            "Antall dager før møtet påminnelsene kommer, skilt med komma. "
            "Tom: arbeidsområdets standard. 0 betyr samme dag."
        ),
    ),
}
NO_DATE_YET = N_("La stå tom hvis datoen ikke er kjent ennå.")


def recurrence_options(current_rule: str | None) -> tuple[list[Option], Option]:
    options = [option(value, _(label)) for value, label, _rule in RECURRENCES]
    if current_rule and current_rule not in CHOICE_BY_RULE:
        keep = option(RECURRENCE_KEEP, _("som nå: %(rule)s") % {"rule": current_rule})
        return [keep, *options], keep
    chosen = CHOICE_BY_RULE.get(current_rule, "none")
    return options, next(o for o in options if o.value == chosen)


def _select(
    block_id: str, label: str, options: list[Option], initial: Option, hint: str | None = None
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        hint=hint,
        element=StaticSelectElement(
            action_id=VALUE_ACTION, options=options, initial_option=initial
        ),
    )


def _start_of(row: Deadline | Meeting | None) -> tuple[date | None, time | None]:
    if isinstance(row, Deadline):
        return row.due_date, row.due_time
    if isinstance(row, Meeting):
        return row.start_date, row.start_time
    return None, None


def _meeting_blocks(row: Meeting | None) -> list[Block]:
    """The meeting's own fields, between its start and its recurrence."""
    forms = [option(form.value, _(label)) for form, label in FORM_CHOICES]
    current = MeetingForm(row.form) if row else MeetingForm.UNKNOWN
    return [
        date_block(
            END_DATE_BLOCK,
            _("Siste dag"),
            row.end_date if row else None,
            _("Bare for møter og samlinger over flere dager."),
        ),
        time_block(END_TIME_BLOCK, _("Slutter kl."), row.end_time if row else None),
        _select(FORM_BLOCK, _("Form"), forms, next(o for o in forms if o.value == current.value)),
        PLACE.block(row.place if row else None),
    ]


def calendar_modal(
    kind: CalendarKind,
    row: Deadline | Meeting | None,
    *,
    meta: ModalMeta,
    footer: str | None = None,
    title: str | None = None,
) -> View:
    """`title` starts a new item's title (typed after `/dks ny frist`)."""
    words = CALENDAR_WORDS[kind]
    meeting = row if isinstance(row, Meeting) else None
    start, start_time = _start_of(row)
    blocks: list[Block] = [
        TITLE.block(row.title if row else title, placeholder=_(words.title_example))
    ]
    if kind == "meeting":
        blocks.append(MEETING_KIND.block(meeting.kind if meeting else None))
    blocks += [
        date_block(DATE_BLOCK, _(words.date_label), start, _(NO_DATE_YET)),
        time_block(TIME_BLOCK, _(words.time_label), start_time),
    ]
    if kind == "meeting":
        blocks += _meeting_blocks(meeting)
    options, initial = recurrence_options(row.rrule if row else None)
    blocks += [
        _select(
            RECURRENCE_BLOCK,
            _("Gjentas"),
            options,
            initial,
            hint=_("Gjentakelse trenger en dato: datoen over er første gang."),
        ),
        AUDIENCE.block(row.audience if row else None, placeholder=_(words.audience_example)),
        LINK.block(row.link if row else None),
        DESCRIPTION.block(row.description if row else None),
        REMINDERS.block(row.reminder_offsets_days if row else None, hint=_(words.reminders_hint)),
    ]
    heading = _(words.edit_title if row else words.new_title)
    return edit_modal(words.callback_id, heading, meta, blocks, footer)


# An address typed without its scheme, as people write them: «kulturtanken.no»,
# «www.kulturtanken.no/x». It must start with a host name (labels, dots, a top-level domain of
# letters), so «ikke en lenke» or «mailto:x@y.no» do not become https:// addresses.
_BARE_ADDRESS = re.compile(r"(?:[\w-]+\.)+[^\W\d_]{2,}(?::\d{1,5})?(?:[/?#]\S*)?")


def normalise_link(raw: str | None) -> tuple[str | None, str | None]:
    """(link, error): «kulturtanken.no» and «www.x.no/y» get https://; anything but a web
    address is refused."""
    if raw is None:
        return None, None
    link = "https://" + raw if _BARE_ADDRESS.fullmatch(raw) else raw
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"\s", link):
        return (
            None,
            _(
                "Skriv en nettadresse som starter med https://, for eksempel https://kulturtanken.no."
            ),
        )
    return link, None


def _recurrence(state: FormState, existing: Deadline | Meeting | None) -> str | None:
    choice = state.option(RECURRENCE_BLOCK) or "none"
    if choice == RECURRENCE_KEEP and existing is not None and existing.rrule:
        return existing.rrule
    if choice in RULE_BY_CHOICE:
        return RULE_BY_CHOICE[choice]
    state.errors[RECURRENCE_BLOCK] = _("Velg hvor ofte det gjentas.")
    return None


def _offsets(state: FormState) -> str | None:
    try:
        parsed = parse_offsets(state.text(REMINDERS))
    except OffsetError as err:
        state.errors[REMINDERS_BLOCK] = str(err)
        return None
    return format_offsets(parsed) if parsed else None


def _check_meeting_times(
    state: FormState, start: date | None, start_time: time | None, end: date | None
) -> time | None:
    """The meeting's end time, once its end is checked against its start."""
    end_time = state.time(END_TIME_BLOCK)
    if end is not None and start is None:
        state.errors[END_DATE_BLOCK] = _("Siste dag trenger en dato for starten.")
    elif end is not None and start is not None and end < start:
        state.errors[END_DATE_BLOCK] = _("Siste dag kan ikke være før møtets dato.")
    if end_time is not None and start_time is None:
        state.errors[END_TIME_BLOCK] = _("Når møtet slutter, trenger det også et starttidspunkt.")
    elif (
        start_time is not None
        and end_time is not None
        and (end is None or end == start)
        and end_time <= start_time
    ):
        state.errors[END_TIME_BLOCK] = _("Møtet må slutte etter at det starter.")
    return end_time


def _dating(
    existing: Deadline | Meeting | None, *, date_changed: bool, has_start: bool, has_time: bool
) -> tuple[DatePrecision, str | None]:
    """A date keeps its precision (week, month, a note like «juni eller august») until the
    coordinator changes it; a time of day pins the item to the date shown."""
    if date_changed or existing is None:
        precision = DatePrecision.DAY if has_start else DatePrecision.UNSET
        note = None
    else:
        precision, note = DatePrecision(existing.precision), existing.date_note
    if has_time and precision != DatePrecision.DAY:
        return DatePrecision.DAY, None
    return precision, note


def unconfirmed_past(
    kind: CalendarKind,
    values: dict[str, Any],
    existing: Deadline | Meeting | None,
    *,
    today: date,
    confirmed: date | None,
) -> tuple[date, date | None] | None:
    """(start, end) of a deadline or meeting dated wholly in the past that nobody has said is
    right (`confirmed`: the date asked about): a year typed wrong would otherwise be saved
    where no list shows it. Dates left as they were are not asked about again."""
    start: date | None = values.get("due_date" if kind == "deadline" else "start_date")
    end: date | None = values.get("end_date")
    if start is None or (end or start) >= today or start == confirmed:
        return None
    if existing is not None and (start, end) == (_start_of(existing)[0], existing.end_date):
        return None
    return start, end


def confirm_past_view(
    kind: CalendarKind, submitted: dict[str, Any], meta: ModalMeta, start: date, end: date | None
) -> View:
    """The form as it was submitted, asking under its date whether the date is right; saved
    again with the same date, it is stored. A field error (`response_action: errors`) cannot
    carry what was asked in the metadata, so this is the same view drawn again, values kept."""
    note = ContextBlock(
        block_id=PAST_DATE_BLOCK,
        elements=[
            MarkdownTextObject(
                text=_(
                    ":warning: Datoen er passert (%(day)s). Er datoen riktig? Trykk «Lagre» "
                    "igjen for å lagre likevel, eller velg en ny dato."
                )
                % {"day": date_span(start, end)}
            )
        ],
    ).to_dict()
    blocks: list[dict[str, Any]] = []
    for block in as_entered(submitted):
        if block.get("block_id") != PAST_DATE_BLOCK:
            blocks.append(block)
        if block.get("block_id") == DATE_BLOCK:
            blocks.append(note)
    words = CALENDAR_WORDS[kind]
    return View(
        type="modal",
        callback_id=words.callback_id,
        title=_(words.new_title if meta.item_id is None else words.edit_title),
        submit=_("Lagre"),
        close=_("Avbryt"),
        private_metadata=replace(meta, past=start).dump(),
        blocks=blocks,
    )


def parse_calendar_form(
    kind: CalendarKind, view: dict[str, Any], existing: Deadline | Meeting | None
) -> Form:
    """A deadline or meeting from its modal. A recurring item's chosen date is confirmed;
    later years stay «forventet» until someone confirms them."""
    state = FormState(view)
    title = state.text(TITLE)
    start = state.date(DATE_BLOCK)
    start_time = state.time(TIME_BLOCK)
    end = state.date(END_DATE_BLOCK) if kind == "meeting" else None
    end_time = _check_meeting_times(state, start, start_time, end) if kind == "meeting" else None
    rule = _recurrence(state, existing)
    audience = state.text(AUDIENCE)
    link, link_error = normalise_link(state.text(LINK))
    if link_error:
        state.errors[LINK_BLOCK] = link_error
    description = state.text(DESCRIPTION)
    offsets = _offsets(state)
    if start_time is not None and start is None:
        state.errors[TIME_BLOCK] = _("Et klokkeslett trenger en dato.")
    if rule is not None and start is None:
        state.errors[RECURRENCE_BLOCK] = _("Gjentakelse trenger en dato for første gang.")
    if state.errors:
        return state.form({})

    old_end = existing.end_date if existing is not None else None
    old_start = _start_of(existing)[0]
    date_changed = existing is None or start != old_start or (kind == "meeting" and end != old_end)
    precision, date_note = _dating(
        existing,
        date_changed=date_changed,
        has_start=start is not None,
        has_time=start_time is not None,
    )
    if rule is None:
        confirmed = None
    elif existing is not None and existing.rrule == rule and not date_changed:
        confirmed = existing.confirmed_until
    else:
        confirmed = start
    values: dict[str, Any] = {
        "title": title,
        "audience": audience,
        "link": link,
        "description": description,
        "reminder_offsets_days": offsets,
        "rrule": rule,
        "confirmed_until": confirmed,
        "precision": precision,
        "date_note": date_note,
    }
    if kind == "deadline":
        values.update(
            due_date=start, due_time=start_time, end_date=None if date_changed else old_end
        )
        return state.form(values)
    form_value = state.option(FORM_BLOCK) or MeetingForm.UNKNOWN.value
    if form_value not in {f.value for f in MeetingForm}:
        state.errors[FORM_BLOCK] = _("Velg digitalt, fysisk, begge eller ikke bestemt.")
    values.update(
        start_date=start,
        start_time=start_time,
        end_date=end,
        end_time=end_time,
        kind=(state.text(MEETING_KIND) or PLAIN_MEETING).lower(),
        form=MeetingForm(form_value) if not state.errors else MeetingForm.UNKNOWN,
        place=state.text(PLACE),
    )
    return state.form(values)


# --- contact -------------------------------------------------------------------------------------

CONTACT_CALLBACK = "dks_edit_contact"

NAME_BLOCK = "name"
ROLE_BLOCK = "role"
ORGANISATION_BLOCK = "organisation"
EMAIL_BLOCK = "email"
PHONE_BLOCK = "phone"
SLACK_USER_BLOCK = "slack_user"
PURPOSE_BLOCK = "purpose"
NOTE_BLOCK = "note"
HISTORICAL_BLOCK = "historical"
HISTORICAL_VALUE = "historical"

NAME = TextField(NAME_BLOCK, N_("Navn"), 200)
ROLE = TextField(
    ROLE_BLOCK,
    N_("Rolle"),
    100,
    required=N_("Skriv en rolle, for eksempel kulturkontakt."),
    placeholder=N_("kulturkontakt, rektor, rådgiver, support …"),
)
ORGANISATION = TextField(ORGANISATION_BLOCK, N_("Organisasjon"), 200)
EMAIL = TextField(EMAIL_BLOCK, N_("E-post"), 320, placeholder=N_("navn@kommune.no"))
PHONE = TextField(PHONE_BLOCK, N_("Telefon"), 40, placeholder="+47 91 23 45 67")
PURPOSE = TextField(PURPOSE_BLOCK, N_("Kontakt dem om"), 500, multiline=True)
NOTE = TextField(NOTE_BLOCK, N_("Merknad"), 500)

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]{2,}")
_PHONE = re.compile(r"\+?[\d\s().-]+")
_USER = re.compile(r"[UW][A-Z0-9]{2,}")


def contact_modal(
    row: Contact | None,
    *,
    meta: ModalMeta,
    school: tuple[int, str] | None = None,
    municipality: tuple[int, str] | None = None,
    role: str | None = None,
    footer: str | None = None,
    name: str | None = None,
) -> View:
    """`school`/`municipality` are (id, label) for the menus' initial choice; `name` starts a
    new contact's name."""
    historical = option(HISTORICAL_VALUE, _("Gjelder ikke lenger (tas vare på for oversikten)"))
    blocks: list[Block] = [
        NAME.block(row.name if row else name),
        ROLE.block(row.role if row else role),
        ORGANISATION.block(row.organisation if row else None),
        EMAIL.block(row.email if row else None),
        PHONE.block(row.phone if row else None),
        optional_block(
            SLACK_USER_BLOCK,
            _("Slack-bruker"),
            UserSelectElement(
                action_id=VALUE_ACTION,
                placeholder=_("Velg person"),
                initial_user=row.slack_user_id if row and row.slack_user_id else None,
            ),
            hint=_("Hvis kontakten er med i dette Slack-arbeidsområdet."),
        ),
        search_block(SCHOOL_BLOCK, _("Skole"), SCHOOL_SELECT_ACTION, school),
        search_block(
            MUNICIPALITY_BLOCK,
            _("Kommune"),
            MUNICIPALITY_SELECT_ACTION,
            municipality,
            hint=_("Trengs ikke når skolen er valgt: da gjelder skolens kommune."),
        ),
        PURPOSE.block(row.purpose if row else None),
        NOTE.block(row.note if row else None),
        optional_block(
            HISTORICAL_BLOCK,
            _("Historisk"),
            CheckboxesElement(
                action_id=VALUE_ACTION,
                options=[historical],
                initial_options=[historical] if row and row.historical else None,
            ),
        ),
    ]
    title = _("Endre kontakt") if row else _("Ny kontakt")
    return edit_modal(CONTACT_CALLBACK, title, meta, blocks, footer)


def parse_contact_form(view: dict[str, Any]) -> Form:
    state = FormState(view)
    name = state.text(NAME)
    role = state.text(ROLE)
    email = state.text(EMAIL)
    phone = state.text(PHONE)
    if email is not None and not _EMAIL.fullmatch(email):
        state.errors[EMAIL_BLOCK] = _("Skriv en e-postadresse som navn@kommune.no.")
    if phone is not None and (not _PHONE.fullmatch(phone) or sum(c.isdigit() for c in phone) < 3):
        state.errors[PHONE_BLOCK] = _("Skriv et telefonnummer som +47 912 34 567.")
    if not (name or email or phone) and NAME_BLOCK not in state.errors:
        state.errors[NAME_BLOCK] = _("Fyll inn minst ett av navn, e-post og telefon.")
    slack_user = state.cell(SLACK_USER_BLOCK).get("selected_user") or None
    if slack_user is not None and not _USER.fullmatch(str(slack_user)):
        state.errors[SLACK_USER_BLOCK] = _("Velg en person fra lista.")
    return state.form(
        {
            "name": name,
            "role": role.lower() if role else None,
            "organisation": state.text(ORGANISATION),
            "email": email,
            "phone": phone,
            "purpose": state.text(PURPOSE),
            "note": state.text(NOTE),
            "slack_user_id": slack_user,
            "historical": state.checked(HISTORICAL_BLOCK, HISTORICAL_VALUE),
            "school_id": state.number(SCHOOL_BLOCK, SCHOOL_SELECT_ACTION),
            "municipality_id": state.number(MUNICIPALITY_BLOCK, MUNICIPALITY_SELECT_ACTION),
        }
    )


# --- school --------------------------------------------------------------------------------------

SCHOOL_CALLBACK = "dks_edit_school"
SCHOOL_NAME = TextField(TITLE_BLOCK, N_("Skolens navn"), 200, required=N_("Skriv skolens navn."))


def school_modal(
    row: School | None,
    *,
    meta: ModalMeta,
    municipality: tuple[int, str] | None = None,
    footer: str | None = None,
    name: str | None = None,
) -> View:
    blocks: list[Block] = [
        SCHOOL_NAME.block(row.name if row else name),
        search_block(MUNICIPALITY_BLOCK, _("Kommune"), MUNICIPALITY_SELECT_ACTION, municipality),
    ]
    title = _("Endre skole") if row else _("Ny skole")
    return edit_modal(SCHOOL_CALLBACK, title, meta, blocks, footer)


def parse_school_form(view: dict[str, Any]) -> Form:
    state = FormState(view)
    return state.form(
        {
            "name": state.text(SCHOOL_NAME),
            "municipality_id": state.number(MUNICIPALITY_BLOCK, MUNICIPALITY_SELECT_ACTION),
        }
    )


# --- delete confirmation -------------------------------------------------------------------------

DELETE_CALLBACK = "dks_delete_item"
LABEL_LIMIT = 200
# The question, by kind: the item's name goes in bold where %(label)s stands.
DELETE_QUESTIONS = {
    "deadline": N_(
        "Vil du slette fristen *%(label)s*? Det kan ikke angres.\n"
        "Påminnelser som ikke er sendt ennå, stoppes."
    ),
    "meeting": N_(
        "Vil du slette møtet *%(label)s*? Det kan ikke angres.\n"
        "Påminnelser som ikke er sendt ennå, stoppes."
    ),
    "contact": N_("Vil du slette kontakten *%(label)s*? Det kan ikke angres."),
    "school": N_(
        "Vil du slette skolen *%(label)s*? Det kan ikke angres.\n"
        "Kontaktene på skolen blir liggende, uten skole."
    ),
}


def delete_modal(*, meta: ModalMeta, label: str) -> View:
    text = _(DELETE_QUESTIONS[meta.kind]) % {"label": escape(truncate(label, LABEL_LIMIT))}
    return View(
        type="modal",
        callback_id=DELETE_CALLBACK,
        title=_("Slette?"),
        submit=_("Slett"),
        close=_("Avbryt"),
        private_metadata=meta.dump(),
        blocks=[SectionBlock(block_id=NOTICE_BLOCK, text=MarkdownTextObject(text=text))],
    )


def parse_delete(view: dict[str, Any]) -> ModalMeta | None:
    """What to delete; None for a confirmation that does not name an item."""
    meta = ModalMeta.load(view.get("private_metadata"))
    return meta if meta is not None and meta.item_id is not None else None


# The kind of item each form edits, by its callback_id.
FORM_KINDS = {
    DEADLINE_CALLBACK: "deadline",
    MEETING_CALLBACK: "meeting",
    CONTACT_CALLBACK: "contact",
    SCHOOL_CALLBACK: "school",
}
