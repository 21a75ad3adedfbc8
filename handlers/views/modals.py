"""Modals for editing deadlines, meetings, contacts and schools, for deleting, and for imports.

Pure builders: rows and texts in, `slack_sdk.models` views out. Every input block uses
VALUE_ACTION as its action_id except the type-ahead menus, which need their own ids so
Slack's `block_suggestion` requests can be routed; handlers read values by block_id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    ExternalDataSelectElement,
    InputBlock,
    Option,
    OverflowMenuElement,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    TimePickerElement,
    UserSelectElement,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.blocks.block_elements import FileInputElement
from slack_sdk.models.views import View

from handlers.core.blocks import NOTICE_BLOCK, notice_modal
from handlers.core.format import escape, klokkeslett, truncate
from storage.models import Contact, Deadline, Meeting, MeetingForm, School

# --- ids shared with handlers and tests ----------------------------------------------------------

DEADLINE_CALLBACK = "dks_edit_deadline"
MEETING_CALLBACK = "dks_edit_meeting"
CONTACT_CALLBACK = "dks_edit_contact"
SCHOOL_CALLBACK = "dks_edit_school"
DELETE_CALLBACK = "dks_delete_item"
IMPORT_CALLBACK = "dks_import_file"
IMPORT_CONFIRM_CALLBACK = "dks_import_confirm"
SCHOOLS_CALLBACK = "dks_schools"

VALUE_ACTION = "value"
SCHOOL_SELECT_ACTION = "dks_pick_school"
MUNICIPALITY_SELECT_ACTION = "dks_pick_municipality"
MODAL_DELETE_ACTION = "dks_modal_delete"
ITEM_MENU_ACTION = "dks_item_menu"
SCHOOLS_MORE_ACTION = "dks_schools_more"
SCHOOLS_NEW_ACTION = "dks_schools_new"

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
NAME_BLOCK = "name"
ROLE_BLOCK = "role"
ORGANISATION_BLOCK = "organisation"
EMAIL_BLOCK = "email"
PHONE_BLOCK = "phone"
SLACK_USER_BLOCK = "slack_user"
SCHOOL_BLOCK = "school"
MUNICIPALITY_BLOCK = "municipality"
PURPOSE_BLOCK = "purpose"
NOTE_BLOCK = "note"
HISTORICAL_BLOCK = "historical"
FILE_BLOCK = "file"
FILE_ACTION = "dks_import_file_input"
DELETE_BLOCK = "delete"

HISTORICAL_VALUE = "historical"

# Slack's limits: option text 75 characters, section text 3000, modal title 24.
OPTION_TEXT_LIMIT = 75
SECTION_LIMIT = 2900

# --- recurrence ----------------------------------------------------------------------------------

RECURRENCE_KEEP = "keep"
RECURRENCES: tuple[tuple[str, str, str | None], ...] = (
    ("none", "ingen", None),
    ("yearly", "årlig", "FREQ=YEARLY"),
    ("halfyearly", "halvårlig", "FREQ=MONTHLY;INTERVAL=6"),
    ("monthly", "månedlig", "FREQ=MONTHLY"),
)
RULE_BY_CHOICE = {value: rule for value, _, rule in RECURRENCES}
CHOICE_BY_RULE = {rule: value for value, _, rule in RECURRENCES}

FORM_CHOICES: tuple[tuple[MeetingForm, str], ...] = (
    (MeetingForm.UNKNOWN, "ikke bestemt"),
    (MeetingForm.DIGITAL, "digitalt"),
    (MeetingForm.PHYSICAL, "fysisk oppmøte"),
    (MeetingForm.HYBRID, "fysisk og digitalt"),
)

NOUNS = {
    "deadline": ("frist", "fristen"),
    "meeting": ("møte", "møtet"),
    "contact": ("kontakt", "kontakten"),
    "school": ("skole", "skolen"),
}


@dataclass(frozen=True)
class ModalMeta:
    """What a modal is about, carried in its private_metadata."""

    kind: str
    item_id: int | None = None
    # "schools:<offset>": after saving, refresh the school list this modal was pushed from.
    back: str | None = None
    # For a new contact opened from a school: the school it starts with.
    school_id: int | None = None

    def dump(self) -> str:
        data: dict[str, Any] = {"k": self.kind}
        if self.item_id is not None:
            data["id"] = self.item_id
        if self.back:
            data["back"] = self.back
        if self.school_id is not None:
            data["school"] = self.school_id
        return json.dumps(data)

    @classmethod
    def load(cls, raw: str | None) -> ModalMeta | None:
        """None when the metadata is not ours (a crafted or garbled payload)."""
        try:
            data = json.loads(raw or "")
            kind = str(data["k"])
            item_id = data.get("id")
            school_id = data.get("school")
            back = data.get("back")
        except (ValueError, KeyError, TypeError):
            return None
        if kind not in NOUNS:
            return None
        if item_id is not None and not isinstance(item_id, int):
            return None
        if school_id is not None and not isinstance(school_id, int):
            return None
        return cls(kind, item_id, str(back) if back else None, school_id)


# --- small builders ------------------------------------------------------------------------------


def _option(value: str, text: str) -> Option:
    return Option(value=value, text=truncate(text, OPTION_TEXT_LIMIT))


def _text_input(
    block_id: str,
    label: str,
    value: str | None,
    *,
    max_length: int,
    optional: bool = True,
    multiline: bool = False,
    placeholder: str | None = None,
    hint: str | None = None,
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=optional,
        hint=hint,
        element=PlainTextInputElement(
            action_id=VALUE_ACTION,
            initial_value=value[:max_length] if value else None,
            max_length=max_length,
            multiline=multiline or None,
            placeholder=placeholder,
        ),
    )


def _date_input(block_id: str, label: str, value: date | None, hint: str | None) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=True,
        hint=hint,
        element=DatePickerElement(
            action_id=VALUE_ACTION,
            initial_date=value.isoformat() if value else None,
            placeholder="Velg dato",
        ),
    )


def _time_input(block_id: str, label: str, value: time | None) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=True,
        element=TimePickerElement(
            action_id=VALUE_ACTION,
            initial_time=klokkeslett(value) if value else None,
            placeholder="Velg klokkeslett",
        ),
    )


def recurrence_options(current_rule: str | None) -> tuple[list[Option], Option]:
    options = [_option(value, label) for value, label, _ in RECURRENCES]
    if current_rule and current_rule not in CHOICE_BY_RULE:
        keep = _option(RECURRENCE_KEEP, f"som nå: {current_rule}")
        return [keep, *options], keep
    chosen = CHOICE_BY_RULE.get(current_rule, "none")
    return options, next(o for o in options if o.value == chosen)


def _recurrence_input(current_rule: str | None) -> InputBlock:
    options, initial = recurrence_options(current_rule)
    return InputBlock(
        block_id=RECURRENCE_BLOCK,
        label="Gjentas",
        hint="Gjentakelse trenger en dato: datoen over er første gang.",
        element=StaticSelectElement(
            action_id=VALUE_ACTION, options=options, initial_option=initial
        ),
    )


def _reminders_input(value: str | None, noun: str) -> InputBlock:
    return _text_input(
        REMINDERS_BLOCK,
        "Påminnelser (dager før)",
        value,
        max_length=64,
        placeholder="14,7,1",
        hint=f"Antall dager før {noun} påminnelsene kommer, skilt med komma. "
        "Tom: arbeidsområdets standard. 0 betyr samme dag.",
    )


def _footer(text: str | None) -> list[Block]:
    if not text:
        return []
    return [ContextBlock(elements=[MarkdownTextObject(text=text)])]


def _delete_button(kind: str, item_id: int) -> ActionsBlock:
    noun = NOUNS[kind][1]
    return ActionsBlock(
        block_id=DELETE_BLOCK,
        elements=[
            ButtonElement(
                text=f"Slett {noun}",
                action_id=MODAL_DELETE_ACTION,
                value=f"{kind}:{item_id}",
                style="danger",
            )
        ],
    )


# --- deadlines and meetings ----------------------------------------------------------------------


def deadline_modal(row: Deadline | None, *, meta: ModalMeta, footer: str | None = None) -> View:
    blocks: list[Block] = [
        _text_input(
            TITLE_BLOCK,
            "Tittel",
            row.title if row else None,
            max_length=200,
            optional=False,
            placeholder="For eksempel: Årsrapportering av DKS til fylket",
        ),
        _date_input(
            DATE_BLOCK,
            "Frist",
            row.due_date if row else None,
            "La stå tom hvis datoen ikke er kjent ennå.",
        ),
        _time_input(TIME_BLOCK, "Klokkeslett", row.due_time if row else None),
        _recurrence_input(row.rrule if row else None),
        _text_input(
            AUDIENCE_BLOCK,
            "Gjelder",
            row.audience if row else None,
            max_length=200,
            placeholder="For eksempel: kommunekontakt, kulturkontakter",
        ),
        _text_input(
            LINK_BLOCK,
            "Lenke",
            row.link if row else None,
            max_length=500,
            placeholder="https://…",
        ),
        _text_input(
            DESCRIPTION_BLOCK,
            "Beskrivelse",
            row.description if row else None,
            max_length=2000,
            multiline=True,
        ),
        _reminders_input(row.reminder_offsets_days if row else None, "fristen"),
    ]
    if row is not None and row.id is not None:
        blocks.append(_delete_button("deadline", row.id))
    blocks += _footer(footer)
    return View(
        type="modal",
        callback_id=DEADLINE_CALLBACK,
        title="Endre frist" if row else "Ny frist",
        submit="Lagre",
        close="Avbryt",
        private_metadata=meta.dump(),
        blocks=blocks,
    )


def meeting_modal(row: Meeting | None, *, meta: ModalMeta, footer: str | None = None) -> View:
    form_options = [_option(form.value, label) for form, label in FORM_CHOICES]
    current_form = MeetingForm(row.form) if row else MeetingForm.UNKNOWN
    blocks: list[Block] = [
        _text_input(
            TITLE_BLOCK,
            "Tittel",
            row.title if row else None,
            max_length=200,
            optional=False,
            placeholder="For eksempel: Nettverksmøte for kulturkontaktene",
        ),
        _text_input(
            KIND_BLOCK,
            "Type møte",
            row.kind if row else None,
            max_length=60,
            placeholder="nettverksmøte, fellessamling, veiledning …",
            hint="Tom: «møte».",
        ),
        _date_input(
            DATE_BLOCK,
            "Dato",
            row.start_date if row else None,
            "La stå tom hvis datoen ikke er kjent ennå.",
        ),
        _time_input(TIME_BLOCK, "Starter kl.", row.start_time if row else None),
        _date_input(
            END_DATE_BLOCK,
            "Siste dag",
            row.end_date if row else None,
            "Bare for møter og samlinger over flere dager.",
        ),
        _time_input(END_TIME_BLOCK, "Slutter kl.", row.end_time if row else None),
        InputBlock(
            block_id=FORM_BLOCK,
            label="Form",
            element=StaticSelectElement(
                action_id=VALUE_ACTION,
                options=form_options,
                initial_option=next(o for o in form_options if o.value == current_form.value),
            ),
        ),
        _text_input(PLACE_BLOCK, "Sted", row.place if row else None, max_length=200),
        _recurrence_input(row.rrule if row else None),
        _text_input(
            AUDIENCE_BLOCK,
            "Gjelder",
            row.audience if row else None,
            max_length=200,
            placeholder="For eksempel: kulturkontakter, kommunegruppa",
        ),
        _text_input(
            LINK_BLOCK,
            "Lenke",
            row.link if row else None,
            max_length=500,
            placeholder="https://…",
        ),
        _text_input(
            DESCRIPTION_BLOCK,
            "Beskrivelse",
            row.description if row else None,
            max_length=2000,
            multiline=True,
        ),
        _reminders_input(row.reminder_offsets_days if row else None, "møtet"),
    ]
    if row is not None and row.id is not None:
        blocks.append(_delete_button("meeting", row.id))
    blocks += _footer(footer)
    return View(
        type="modal",
        callback_id=MEETING_CALLBACK,
        title="Endre møte" if row else "Nytt møte",
        submit="Lagre",
        close="Avbryt",
        private_metadata=meta.dump(),
        blocks=blocks,
    )


# --- contacts and schools ------------------------------------------------------------------------


def contact_modal(
    row: Contact | None,
    *,
    meta: ModalMeta,
    school: tuple[int, str] | None = None,
    municipality: tuple[int, str] | None = None,
    role: str | None = None,
    footer: str | None = None,
) -> View:
    """`school`/`municipality` are (id, label) for the menus' initial choice."""
    school_select = ExternalDataSelectElement(
        action_id=SCHOOL_SELECT_ACTION,
        placeholder="Skriv for å søke",
        min_query_length=0,
        initial_option=_option(str(school[0]), school[1]) if school else None,
    )
    muni_select = ExternalDataSelectElement(
        action_id=MUNICIPALITY_SELECT_ACTION,
        placeholder="Skriv for å søke",
        min_query_length=0,
        initial_option=_option(str(municipality[0]), municipality[1]) if municipality else None,
    )
    historical = _option(HISTORICAL_VALUE, "Gjelder ikke lenger (tas vare på for oversikten)")
    blocks: list[Block] = [
        _text_input(NAME_BLOCK, "Navn", row.name if row else None, max_length=200),
        _text_input(
            ROLE_BLOCK,
            "Rolle",
            row.role if row else role,
            max_length=100,
            optional=False,
            placeholder="kulturkontakt, rektor, rådgiver, support …",
        ),
        _text_input(
            ORGANISATION_BLOCK, "Organisasjon", row.organisation if row else None, max_length=200
        ),
        _text_input(
            EMAIL_BLOCK,
            "E-post",
            row.email if row else None,
            max_length=320,
            placeholder="navn@kommune.no",
        ),
        _text_input(
            PHONE_BLOCK,
            "Telefon",
            row.phone if row else None,
            max_length=40,
            placeholder="+47 91 23 45 67",
        ),
        InputBlock(
            block_id=SLACK_USER_BLOCK,
            label="Slack-bruker",
            optional=True,
            hint="Hvis kontakten er med i dette Slack-arbeidsområdet.",
            element=UserSelectElement(
                action_id=VALUE_ACTION,
                placeholder="Velg person",
                initial_user=row.slack_user_id if row and row.slack_user_id else None,
            ),
        ),
        InputBlock(
            block_id=SCHOOL_BLOCK,
            label="Skole",
            optional=True,
            element=school_select,
        ),
        InputBlock(
            block_id=MUNICIPALITY_BLOCK,
            label="Kommune",
            optional=True,
            hint="Trengs ikke når skolen er valgt: da gjelder skolens kommune.",
            element=muni_select,
        ),
        _text_input(
            PURPOSE_BLOCK,
            "Kontakt dem om",
            row.purpose if row else None,
            max_length=500,
            multiline=True,
        ),
        _text_input(NOTE_BLOCK, "Merknad", row.note if row else None, max_length=500),
        InputBlock(
            block_id=HISTORICAL_BLOCK,
            label="Historisk",
            optional=True,
            element=CheckboxesElement(
                action_id=VALUE_ACTION,
                options=[historical],
                initial_options=[historical] if row and row.historical else None,
            ),
        ),
    ]
    if row is not None and row.id is not None:
        blocks.append(_delete_button("contact", row.id))
    blocks += _footer(footer)
    return View(
        type="modal",
        callback_id=CONTACT_CALLBACK,
        title="Endre kontakt" if row else "Ny kontakt",
        submit="Lagre",
        close="Avbryt",
        private_metadata=meta.dump(),
        blocks=blocks,
    )


def school_modal(
    row: School | None,
    *,
    meta: ModalMeta,
    municipality: tuple[int, str] | None = None,
    footer: str | None = None,
) -> View:
    blocks: list[Block] = [
        _text_input(
            TITLE_BLOCK, "Skolens navn", row.name if row else None, max_length=200, optional=False
        ),
        InputBlock(
            block_id=MUNICIPALITY_BLOCK,
            label="Kommune",
            optional=True,
            element=ExternalDataSelectElement(
                action_id=MUNICIPALITY_SELECT_ACTION,
                placeholder="Skriv for å søke",
                min_query_length=0,
                initial_option=_option(str(municipality[0]), municipality[1])
                if municipality
                else None,
            ),
        ),
    ]
    if row is not None and row.id is not None:
        blocks.append(_delete_button("school", row.id))
    blocks += _footer(footer)
    return View(
        type="modal",
        callback_id=SCHOOL_CALLBACK,
        title="Endre skole" if row else "Ny skole",
        submit="Lagre",
        close="Avbryt",
        private_metadata=meta.dump(),
        blocks=blocks,
    )


# --- deleting, notices ---------------------------------------------------------------------------


def delete_modal(*, meta: ModalMeta, label: str, consequence: str = "") -> View:
    noun = NOUNS[meta.kind][1]
    text = f"Vil du slette {noun} *{escape(truncate(label, 200))}*? Det kan ikke angres."
    if consequence:
        text += f"\n{consequence}"
    return View(
        type="modal",
        callback_id=DELETE_CALLBACK,
        title="Slette?",
        submit="Slett",
        close="Avbryt",
        private_metadata=meta.dump(),
        blocks=[SectionBlock(block_id=NOTICE_BLOCK, text=MarkdownTextObject(text=text))],
    )


# --- import --------------------------------------------------------------------------------------

IMPORT_HELP = (
    "*Kontakter og skoler* (CSV fra Excel, «;» eller «,», UTF-8 eller Windows-1252): første "
    "linje er kolonnenavn, for eksempel `skole;kommune;navn;rolle;e-post;telefon`. Kolonner "
    "boten kjenner: navn, rolle, organisasjon, e-post, telefon, skole, kommune, fylke, "
    "kommunenummer, formål, merknad, slack, historisk, id. En rad med bare skole (og kommune) "
    "legger inn skolen; en kontakt på en skole uten rolle blir kulturkontakt.\n"
    "*Kalender* (YAML, som `data/dks-kalender.yaml`): frister, møter og kontakter.\n"
    "Du får se hva som blir endret før noe lagres. Har filen feil, lagres ingenting."
)


def import_modal() -> View:
    return View(
        type="modal",
        callback_id=IMPORT_CALLBACK,
        title="Importer",
        submit="Forhåndsvis",
        close="Avbryt",
        blocks=[
            InputBlock(
                block_id=FILE_BLOCK,
                label="Fil",
                element=FileInputElement(
                    action_id=FILE_ACTION, filetypes=["csv", "txt", "yaml", "yml"], max_files=1
                ),
            ),
            ContextBlock(elements=[MarkdownTextObject(text=IMPORT_HELP)]),
        ],
    )


def _chunks(lines: Sequence[str], limit: int = SECTION_LIMIT) -> list[str]:
    """Join lines into section texts under Slack's 3000-character limit."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = truncate(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


MAX_LISTED_LINES = 120


def import_errors_modal(filename: str, errors: Sequence[str]) -> View:
    """Every bad row with its line (up to what a modal holds), nothing imported."""
    shown = [escape(e) for e in errors[:MAX_LISTED_LINES]]
    if len(errors) > len(shown):
        shown.append(f"… og {len(errors) - len(shown)} feil til.")
    intro = (
        f"Ingenting er importert fra *{escape(truncate(filename, 100))}*: "
        f"{'1 feil' if len(errors) == 1 else f'{len(errors)} feil'}. "
        "Rett opp i filen og last den opp på nytt."
    )
    return View(
        type="modal",
        title="Feil i filen",
        close="Tilbake",
        blocks=[
            SectionBlock(block_id=NOTICE_BLOCK, text=MarkdownTextObject(text=intro)),
            *(SectionBlock(text=MarkdownTextObject(text=c)) for c in _chunks(shown)),
        ],
    )


def import_preview_modal(
    *, filename: str, summary: str, changes: Sequence[str], pending_id: str, changed: bool
) -> View:
    shown = [escape(c) for c in changes[:MAX_LISTED_LINES]]
    if len(changes) > len(shown):
        shown.append(f"… og {len(changes) - len(shown)} endringer til.")
    blocks: list[Block] = [
        SectionBlock(
            block_id=NOTICE_BLOCK,
            text=MarkdownTextObject(text=f"*{escape(truncate(filename, 100))}*: {escape(summary)}"),
        )
    ]
    if shown:
        blocks.append(DividerBlock())
        blocks += [SectionBlock(text=MarkdownTextObject(text=c)) for c in _chunks(shown)]
    if not changed:
        return View(
            type="modal",
            title="Ingen endringer",
            close="Lukk",
            blocks=[
                *blocks,
                ContextBlock(
                    elements=[MarkdownTextObject(text="Alt i filen er allerede lagt inn.")]
                ),
            ],
        )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Trykk «Importer» for å lagre dette. Ingenting er lagret ennå."
                )
            ]
        )
    )
    return View(
        type="modal",
        callback_id=IMPORT_CONFIRM_CALLBACK,
        title="Forhåndsvisning",
        submit="Importer",
        close="Avbryt",
        private_metadata=json.dumps({"pending": pending_id}),
        blocks=blocks,
    )


def import_done_modal(summary: str) -> View:
    return notice_modal(f":white_check_mark: Importert: {summary}", title="Importert")


# --- schools list --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolEntry:
    school_id: int
    name: str
    municipality: str | None
    kulturkontakter: Sequence[str]  # names, or what else identifies them


def school_menu(entry: SchoolEntry, offset: int) -> OverflowMenuElement:
    ref = f"{entry.school_id}:{offset}"
    return OverflowMenuElement(
        action_id=ITEM_MENU_ACTION,
        options=[
            _option(f"newcontact:school:{ref}", "Ny kulturkontakt"),
            _option(f"edit:school:{ref}", "Endre skolen"),
            _option(f"delete:school:{ref}", "Slett skolen"),
        ],
    )


def schools_modal(
    *,
    entries: Sequence[SchoolEntry],
    offset: int,
    total: int,
    missing: int,
    page_size: int,
    coordinator: bool,
) -> View:
    blocks: list[Block] = [
        SectionBlock(
            block_id=NOTICE_BLOCK,
            text=MarkdownTextObject(
                text=f"{total} skoler, *{missing} uten kulturkontakt*. Hver skole skal ha en "
                "kulturkontakt; skolene som mangler, står først."
                if total
                else "Ingen skoler er lagt inn ennå. Importer en liste fra Home-fanen."
            ),
        )
    ]
    if coordinator:
        blocks.append(
            ActionsBlock(
                elements=[ButtonElement(text="Ny skole", action_id=SCHOOLS_NEW_ACTION, value="new")]
            )
        )
    for entry in entries:
        where = f" ({escape(entry.municipality)})" if entry.municipality else ""
        if entry.kulturkontakter:
            who = "Kulturkontakt: " + escape(truncate(", ".join(entry.kulturkontakter), 200))
        else:
            who = ":warning: Mangler kulturkontakt"
        blocks.append(
            SectionBlock(
                block_id=f"school:{entry.school_id}",
                text=MarkdownTextObject(
                    text=f"*{escape(truncate(entry.name, 150))}*{where}\n{who}"
                ),
                accessory=school_menu(entry, offset) if coordinator else None,
            )
        )
    shown_to = offset + len(entries)
    if total:
        blocks.append(
            ContextBlock(
                elements=[MarkdownTextObject(text=f"Viser {offset + 1}–{shown_to} av {total}.")]
            )
        )
    nav = []
    if offset > 0:
        nav.append(
            ButtonElement(
                text="Forrige side",
                action_id=SCHOOLS_MORE_ACTION,
                value=str(max(0, offset - page_size)),
            )
        )
    if shown_to < total:
        nav.append(
            ButtonElement(text="Vis flere", action_id=SCHOOLS_MORE_ACTION, value=str(shown_to))
        )
    if nav:
        blocks.append(ActionsBlock(block_id="schools_nav", elements=nav))
    return View(
        type="modal",
        callback_id=SCHOOLS_CALLBACK,
        title="Skoler",
        close="Lukk",
        private_metadata=json.dumps({"offset": offset}),
        blocks=blocks,
    )
