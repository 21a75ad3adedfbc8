"""Create, edit and delete deadlines, meetings, contacts and schools in modals.

Entry points: `/dks ny frist|møte|kontakt|skole`, the Home tab's buttons and item menus, the
contact picker, and the school list. Every submission checks the coordinator role again on the
server, validates (field errors travel in the ack), stores and audits in one transaction, and
only then acks; reminders and the Home tab are updated after the ack.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any, Literal
from urllib.parse import urlsplit

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Option
from slack_sdk.models.views import View
from sqlmodel import Session

from handlers.admin import NOT_COORDINATOR, ids_of, refuse_in_modal, require_coordinator
from handlers.core.commands import COMMAND, CommandRequest, Reply, Subcommand
from handlers.core.feature import Changed
from handlers.core.format import klokkeslett, norsk_dato, truncate
from handlers.core.services import Services
from handlers.views.home import (
    HOME_CONTACT_PICK,
    HOME_NEW_CONTACT,
    HOME_NEW_DEADLINE,
    HOME_NEW_MEETING,
    HOME_SCHOOLS,
)
from handlers.views.modals import (
    AUDIENCE_BLOCK,
    CONTACT_CALLBACK,
    DATE_BLOCK,
    DEADLINE_CALLBACK,
    DELETE_CALLBACK,
    DESCRIPTION_BLOCK,
    EMAIL_BLOCK,
    END_DATE_BLOCK,
    END_TIME_BLOCK,
    FORM_BLOCK,
    HISTORICAL_BLOCK,
    HISTORICAL_VALUE,
    ITEM_MENU_ACTION,
    KIND_BLOCK,
    LINK_BLOCK,
    MEETING_CALLBACK,
    MODAL_DELETE_ACTION,
    MUNICIPALITY_BLOCK,
    MUNICIPALITY_SELECT_ACTION,
    NAME_BLOCK,
    NOTE_BLOCK,
    NOUNS,
    OPTION_TEXT_LIMIT,
    ORGANISATION_BLOCK,
    PHONE_BLOCK,
    PLACE_BLOCK,
    PURPOSE_BLOCK,
    RECURRENCE_BLOCK,
    RECURRENCE_KEEP,
    REMINDERS_BLOCK,
    ROLE_BLOCK,
    RULE_BY_CHOICE,
    SCHOOL_BLOCK,
    SCHOOL_CALLBACK,
    SCHOOL_SELECT_ACTION,
    SCHOOLS_MORE_ACTION,
    SCHOOLS_NEW_ACTION,
    SLACK_USER_BLOCK,
    TIME_BLOCK,
    TITLE_BLOCK,
    VALUE_ACTION,
    ModalMeta,
    SchoolEntry,
    contact_modal,
    deadline_modal,
    delete_modal,
    meeting_modal,
    notice_modal,
    school_modal,
    schools_modal,
)
from storage import audit
from storage.folding import fold
from storage.items import (
    ItemInUse,
    ItemNotFound,
    Kind,
    delete_item,
    find_school,
    get_item,
    label_of,
    mark_deadline_done,
    save_item,
    school_label,
    school_overview,
    schools_without_kulturkontakt,
    search_municipalities,
    search_schools,
)
from storage.models import DatePrecision, Deadline, Meeting, MeetingForm, Municipality
from storage.reminders import OffsetError, format_offsets, parse_offsets

SCHOOLS_PAGE = 20
OPTIONS_LIMIT = 100  # Slack shows at most 100 options

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]{2,}")
_PHONE = re.compile(r"\+?[\d\s().-]+")
_USER = re.compile(r"[UW][A-Z0-9]{2,}")

LIMITS = {
    TITLE_BLOCK: 200,
    AUDIENCE_BLOCK: 200,
    LINK_BLOCK: 500,
    DESCRIPTION_BLOCK: 2000,
    KIND_BLOCK: 60,
    PLACE_BLOCK: 200,
    NAME_BLOCK: 200,
    ROLE_BLOCK: 100,
    ORGANISATION_BLOCK: 200,
    EMAIL_BLOCK: 320,
    PHONE_BLOCK: 40,
    PURPOSE_BLOCK: 500,
    NOTE_BLOCK: 500,
}


# --- Reading a view_submission's state -----------------------------------------------------------


@dataclass
class Form:
    """Values ready for storage.items.save_item, or errors by block_id for the ack."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


class _State:
    def __init__(self, view: dict[str, Any], form: Form) -> None:
        values = (view.get("state") or {}).get("values") or {}
        self.values = values if isinstance(values, dict) else {}
        self.form = form

    def cell(self, block: str, action: str = VALUE_ACTION) -> dict[str, Any]:
        found = self.values.get(block)
        cell = found.get(action) if isinstance(found, dict) else None
        return cell if isinstance(cell, dict) else {}

    def text(self, block: str, *, required: str = "") -> str | None:
        raw = self.cell(block).get("value")
        value = raw.strip() if isinstance(raw, str) else ""
        if not value:
            if required:
                self.form.errors[block] = required
            return None
        limit = LIMITS.get(block)
        if limit is not None and len(value) > limit:
            self.form.errors[block] = f"Høyst {limit} tegn (du skrev {len(value)})."
            return None
        return value

    def date(self, block: str) -> date | None:
        raw = self.cell(block).get("selected_date")
        if not raw:
            return None
        try:
            return date.fromisoformat(str(raw))
        except ValueError:
            self.form.errors[block] = "Velg en dato i kalenderen."
            return None

    def time(self, block: str) -> time | None:
        raw = self.cell(block).get("selected_time")
        if not raw:
            return None
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(raw))
        if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            self.form.errors[block] = "Velg et klokkeslett, som 09:00."
            return None
        return time(int(match.group(1)), int(match.group(2)))

    def option(self, block: str, action: str = VALUE_ACTION) -> str | None:
        selected = self.cell(block, action).get("selected_option")
        value = selected.get("value") if isinstance(selected, dict) else None
        return str(value) if value else None

    def number(self, block: str, action: str) -> int | None:
        value = self.option(block, action)
        if value is None:
            return None
        if not value.isdigit():
            self.form.errors[block] = "Velg fra lista."
            return None
        return int(value)


def normalise_link(raw: str | None) -> tuple[str | None, str | None]:
    """(link, error): «www.x.no» gets https://; anything but a web address is refused."""
    if raw is None:
        return None, None
    link = "https://" + raw if raw.lower().startswith("www.") else raw
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"\s", link):
        return (
            None,
            "Skriv en nettadresse som starter med https://, for eksempel https://kulturtanken.no.",
        )
    return link, None


def _date_of(item: Deadline | Meeting | None) -> date | None:
    if item is None:
        return None
    return item.due_date if isinstance(item, Deadline) else item.start_date


def parse_calendar_form(
    kind: Literal["deadline", "meeting"], view: dict[str, Any], existing: Deadline | Meeting | None
) -> Form:
    """A deadline or meeting from its modal. Dates keep their precision (week, month, a note
    like «juni eller august») until the coordinator changes them; a recurring item's chosen
    date is confirmed, later years stay «forventet» until someone confirms them."""
    form = Form()
    state = _State(view, form)
    title = state.text(TITLE_BLOCK, required="Skriv en tittel.")
    start = state.date(DATE_BLOCK)
    start_time = state.time(TIME_BLOCK)
    end: date | None = None
    end_time: time | None = None
    if kind == "meeting":
        end = state.date(END_DATE_BLOCK)
        end_time = state.time(END_TIME_BLOCK)
    choice = state.option(RECURRENCE_BLOCK) or "none"
    rule: str | None = None
    if choice == RECURRENCE_KEEP and existing is not None and existing.rrule:
        rule = existing.rrule
    elif choice in RULE_BY_CHOICE:
        rule = RULE_BY_CHOICE[choice]
    else:
        form.errors[RECURRENCE_BLOCK] = "Velg hvor ofte det gjentas."
    audience = state.text(AUDIENCE_BLOCK)
    link, link_error = normalise_link(state.text(LINK_BLOCK))
    if link_error:
        form.errors[LINK_BLOCK] = link_error
    description = state.text(DESCRIPTION_BLOCK)
    offsets: str | None = None
    try:
        parsed = parse_offsets(state.text(REMINDERS_BLOCK))
        offsets = format_offsets(parsed) if parsed else None
    except OffsetError as err:
        form.errors[REMINDERS_BLOCK] = str(err)

    if start_time is not None and start is None:
        form.errors[TIME_BLOCK] = "Et klokkeslett trenger en dato."
    if kind == "meeting":
        if end is not None and start is None:
            form.errors[END_DATE_BLOCK] = "Siste dag trenger en dato for starten."
        elif end is not None and start is not None and end < start:
            form.errors[END_DATE_BLOCK] = "Siste dag kan ikke være før møtets dato."
        if end_time is not None and start_time is None:
            form.errors[END_TIME_BLOCK] = "Når møtet slutter, trenger det også et starttidspunkt."
        elif (
            start_time is not None
            and end_time is not None
            and (end is None or end == start)
            and end_time <= start_time
        ):
            form.errors[END_TIME_BLOCK] = "Møtet må slutte etter at det starter."
    if rule is not None and start is None:
        form.errors[RECURRENCE_BLOCK] = "Gjentakelse trenger en dato for første gang."
    if form.errors:
        return form

    old_end = existing.end_date if existing is not None else None
    date_changed = (
        existing is None or start != _date_of(existing) or (kind == "meeting" and end != old_end)
    )
    if date_changed or existing is None:
        precision = DatePrecision.DAY if start is not None else DatePrecision.UNSET
        date_note = None
    else:
        precision = DatePrecision(existing.precision)
        date_note = existing.date_note
    if start_time is not None and precision != DatePrecision.DAY:
        # A time of day pins the item to the date shown.
        precision, date_note = DatePrecision.DAY, None
    if rule is None:
        confirmed = None
    elif existing is not None and existing.rrule == rule and not date_changed:
        confirmed = existing.confirmed_until
    else:
        confirmed = start
    form.values = {
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
        form.values.update(
            due_date=start,
            due_time=start_time,
            end_date=None if date_changed else old_end,
        )
    else:
        form_value = state.option(FORM_BLOCK) or MeetingForm.UNKNOWN.value
        if form_value not in {f.value for f in MeetingForm}:
            form.errors[FORM_BLOCK] = "Velg digitalt, fysisk, begge eller ikke bestemt."
        form.values.update(
            start_date=start,
            start_time=start_time,
            end_date=end,
            end_time=end_time,
            kind=(state.text(KIND_BLOCK) or "møte").lower(),
            form=MeetingForm(form_value) if not form.errors else MeetingForm.UNKNOWN,
            place=state.text(PLACE_BLOCK),
        )
    return form


def parse_contact_form(view: dict[str, Any]) -> Form:
    """A contact from its modal; school and municipality ids still need checking against
    the workspace (a crafted payload can name any id)."""
    form = Form()
    state = _State(view, form)
    name = state.text(NAME_BLOCK)
    role = state.text(ROLE_BLOCK, required="Skriv en rolle, for eksempel kulturkontakt.")
    email = state.text(EMAIL_BLOCK)
    phone = state.text(PHONE_BLOCK)
    if email is not None and not _EMAIL.fullmatch(email):
        form.errors[EMAIL_BLOCK] = "Skriv en e-postadresse som navn@kommune.no."
    if phone is not None and (not _PHONE.fullmatch(phone) or sum(c.isdigit() for c in phone) < 3):
        form.errors[PHONE_BLOCK] = "Skriv et telefonnummer som +47 912 34 567."
    if not (name or email or phone) and NAME_BLOCK not in form.errors:
        form.errors[NAME_BLOCK] = "Fyll inn minst ett av navn, e-post og telefon."
    slack_user = state.cell(SLACK_USER_BLOCK).get("selected_user") or None
    if slack_user is not None and not _USER.fullmatch(str(slack_user)):
        form.errors[SLACK_USER_BLOCK] = "Velg en person fra lista."
    chosen = state.cell(HISTORICAL_BLOCK).get("selected_options") or []
    historical = any(isinstance(o, dict) and o.get("value") == HISTORICAL_VALUE for o in chosen)
    form.values = {
        "name": name,
        "role": role.lower() if role else None,
        "organisation": state.text(ORGANISATION_BLOCK),
        "email": email,
        "phone": phone,
        "purpose": state.text(PURPOSE_BLOCK),
        "note": state.text(NOTE_BLOCK),
        "slack_user_id": slack_user,
        "historical": historical,
        "school_id": state.number(SCHOOL_BLOCK, SCHOOL_SELECT_ACTION),
        "municipality_id": state.number(MUNICIPALITY_BLOCK, MUNICIPALITY_SELECT_ACTION),
    }
    return form


def parse_school_form(view: dict[str, Any]) -> Form:
    form = Form()
    state = _State(view, form)
    form.values = {
        "name": state.text(TITLE_BLOCK, required="Skriv skolens navn."),
        "municipality_id": state.number(MUNICIPALITY_BLOCK, MUNICIPALITY_SELECT_ACTION),
    }
    return form


# --- Building modals -----------------------------------------------------------------------------


def last_changed_text(services: Services, change: audit.LastChange | None) -> str | None:
    """«Sist endret av @kari den 24. november 2026 kl. 10:00.»"""
    if change is None:
        return None
    local = change.at.astimezone(services.settings.timezone)
    when = f"{norsk_dato(local.date())} kl. {klokkeslett(local)}"
    if change.user_id:
        who = f"<@{change.user_id}>"
    else:
        who = "kommandolinja (dks-bot)" if change.source == "cli" else "boten"
    verb = {"create": "Lagt inn", "import": "Importert", "done": "Merket som ferdig"}.get(
        change.action, "Sist endret"
    )
    return f"{verb} av {who} den {when}."


def build_modal(
    services: Services, *, team_id: str, meta: ModalMeta, role: str | None = None
) -> View | None:
    """The edit (or create) modal for `meta`; None when the item no longer exists."""
    with services.session() as session:
        row: Any = None
        footer = None
        if meta.item_id is not None:
            row = get_item(
                session=session, kind=_kind(meta.kind), team_id=team_id, item_id=meta.item_id
            )
            if row is None:
                return None
            footer = last_changed_text(
                services,
                audit.last_change(
                    session=session, team_id=team_id, item_kind=meta.kind, item_id=meta.item_id
                ),
            )
            if footer is None and getattr(row, "external_key", None):
                footer = "Fra den medfølgende DKS-kalenderen eller en import; ikke endret her ennå."
        if meta.kind == "deadline":
            return deadline_modal(row, meta=meta, footer=footer)
        if meta.kind == "meeting":
            return meeting_modal(row, meta=meta, footer=footer)
        if meta.kind == "school":
            muni = _municipality_choice(session, row.municipality_id if row else None, team_id)
            return school_modal(row, meta=meta, municipality=muni, footer=footer)
        school_id = row.school_id if row else meta.school_id
        school = None
        if school_id:
            found = get_item(session=session, kind="school", team_id=team_id, item_id=school_id)
            if found is not None:
                school = (school_id, school_label(session=session, school=found))
        muni = _municipality_choice(session, row.municipality_id if row else None, team_id)
        return contact_modal(
            row, meta=meta, school=school, municipality=muni, role=role, footer=footer
        )


def _municipality_choice(
    session: Session, muni_id: int | None, team_id: str
) -> tuple[int, str] | None:
    if not muni_id:
        return None
    muni = session.get(Municipality, muni_id)
    if muni is None or muni.team_id != team_id:
        return None
    return muni_id, muni.name


def _kind(value: str) -> Kind:
    if value not in NOUNS:
        raise ValueError(value)
    return value  # type: ignore[return-value]


def show(client: WebClient, body: dict[str, Any], view: View) -> None:
    """Open a modal, or push it when the click came from inside a modal."""
    trigger_id = str(body.get("trigger_id") or "")
    if (body.get("view") or {}).get("type") == "modal":
        client.views_push(trigger_id=trigger_id, view=view)
    else:
        client.views_open(trigger_id=trigger_id, view=view)


GONE = "Finner ikke {noun} lenger: noen har kanskje slettet {pronoun} i mellomtiden."


def gone_text(kind: str) -> str:
    noun = NOUNS[kind][1]
    pronoun = "den" if kind in ("deadline", "contact", "school") else "det"
    return GONE.format(noun=noun, pronoun=pronoun)


# --- After a change ------------------------------------------------------------------------------


def after_change(
    client: WebClient,
    services: Services,
    *,
    team_id: str,
    user_id: str,
    kind: str,
    item_id: int,
    logger: logging.Logger,
    back: str | None = None,
    previous_view_id: str | None = None,
) -> None:
    """Runs after the ack: keep reminders in step, refresh a school list, publish Home."""
    if back and back.startswith("schools:") and previous_view_id:
        offset = int(back.split(":", 1)[1]) if back.split(":", 1)[1].isdigit() else 0
        try:
            client.views_update(
                view_id=previous_view_id,
                view=build_schools(services, team_id=team_id, offset=offset, coordinator=True),
            )
        except SlackApiError as err:
            logger.info("could not refresh the school list: %s", err.response.get("error"))
    services.events.publish(
        Changed(team_id, user_id, ((kind, item_id),)),  # type: ignore[arg-type]
        client=client,
        services=services,
        logger=logger,
    )


def build_schools(services: Services, *, team_id: str, offset: int, coordinator: bool) -> View:
    with services.session() as session:
        lines, total = school_overview(
            session=session, team_id=team_id, offset=offset, limit=SCHOOLS_PAGE
        )
        _, missing = schools_without_kulturkontakt(session=session, team_id=team_id, limit=0)
    entries = [
        SchoolEntry(
            school_id=line.school.id or 0,
            name=line.school.name,
            municipality=line.municipality,
            kulturkontakter=[c.name or c.email or c.phone or c.role for c in line.kulturkontakter],
        )
        for line in lines
    ]
    return schools_modal(
        entries=entries,
        offset=offset,
        total=total,
        missing=missing,
        page_size=SCHOOLS_PAGE,
        coordinator=coordinator,
    )


# --- /dks ny -------------------------------------------------------------------------------------

_NEW_WORDS = {
    "frist": "deadline",
    "frister": "deadline",
    "mote": "meeting",
    "moete": "meeting",
    "moter": "meeting",
    "kontakt": "contact",
    "skole": "school",
}


def run_new(request: CommandRequest) -> Reply:
    word = fold(request.args.split(" ", 1)[0]) if request.args else ""
    kind = _NEW_WORDS.get(word)
    if kind is None:
        text = (
            f"Hva vil du legge inn? Skriv `{COMMAND} ny frist`, `{COMMAND} ny møte`, "
            f"`{COMMAND} ny kontakt` eller `{COMMAND} ny skole`."
        )
        return Reply(text)
    if not require_coordinator(
        request.services, request.client, team_id=request.team_id, user_id=request.user_id
    ):
        return Reply(NOT_COORDINATOR)
    view = build_modal(request.services, team_id=request.team_id, meta=ModalMeta(kind))
    assert view is not None

    def open_modal() -> None:
        request.client.views_open(trigger_id=request.trigger_id, view=view)

    return Reply("", after=open_modal)


SUBCOMMANDS = [
    Subcommand(
        name="ny",
        aliases=("nytt", "new"),
        summary="legger inn en ny frist, et møte, en kontakt eller en skole i et skjema "
        "(bare koordinatorer).",
        example=f"{COMMAND} ny frist",
        run=run_new,
    )
]


# --- Listeners -----------------------------------------------------------------------------------


def _option_dict(value: str, text: str) -> dict[str, Any]:
    return Option(value=value, text=truncate(text, OPTION_TEXT_LIMIT)).to_dict()


def register(app: App) -> None:
    def guarded(
        body: dict[str, Any], client: WebClient, context: BoltContext, logger: logging.Logger
    ) -> tuple[Services, str, str] | None:
        """(services, team, user) for a coordinator; otherwise say no in a modal → None."""
        services: Services = context["services"]
        team_id, user_id = ids_of(body, context)
        if require_coordinator(services, client, team_id=team_id, user_id=user_id):
            return services, team_id, user_id
        refuse_in_modal(client, str(body.get("trigger_id") or ""), logger)
        return None

    def open_for(meta: ModalMeta, role: str | None = None) -> Callable[..., None]:
        def listener(
            ack: Ack,
            body: dict[str, Any],
            client: WebClient,
            context: BoltContext,
            logger: logging.Logger,
        ) -> None:
            ack()
            allowed = guarded(body, client, context, logger)
            if allowed is None:
                return
            services, team_id, _ = allowed
            view = build_modal(services, team_id=team_id, meta=meta, role=role)
            show(client, body, view or notice_modal(gone_text(meta.kind)))

        return listener

    app.action(HOME_NEW_DEADLINE)(open_for(ModalMeta("deadline")))
    app.action(HOME_NEW_MEETING)(open_for(ModalMeta("meeting")))
    app.action(HOME_NEW_CONTACT)(open_for(ModalMeta("contact")))

    def new_school(
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        logger: logging.Logger,
    ) -> None:
        ack()
        allowed = guarded(body, client, context, logger)
        if allowed is None:
            return
        services, team_id, _ = allowed
        offset = _schools_offset(body)
        view = build_modal(
            services, team_id=team_id, meta=ModalMeta("school", back=f"schools:{offset}")
        )
        show(client, body, view or notice_modal(gone_text("school")))

    app.action(SCHOOLS_NEW_ACTION)(new_school)

    def pick_contact(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        logger: logging.Logger,
    ) -> None:
        ack()
        allowed = guarded(body, client, context, logger)
        if allowed is None:
            return
        services, team_id, _ = allowed
        value = str((action.get("selected_option") or {}).get("value") or "")
        if not value.isdigit():
            return
        meta = ModalMeta("contact", int(value))
        show(
            client,
            body,
            build_modal(services, team_id=team_id, meta=meta) or notice_modal(gone_text("contact")),
        )

    app.action(HOME_CONTACT_PICK)(pick_contact)

    def contact_options(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        team_id, _ = ids_of(body, context)
        query = str(body.get("value") or "").strip()[:100]
        # From the in-memory directory: a type-ahead runs on every keystroke.
        hits, _ = context["services"].snapshot(team_id).directory.search(query, OPTIONS_LIMIT)
        options = []
        for hit in hits:
            c = hit.contact
            who = c.name or c.organisation or c.email or c.role
            where = hit.school or hit.municipality
            options.append(
                _option_dict(str(c.id), f"{who} – {c.role}" + (f", {where}" if where else ""))
            )
        ack(options=options)

    app.options(HOME_CONTACT_PICK)(contact_options)

    def school_options(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        team_id, _ = ids_of(body, context)
        query = str(body.get("value") or "").strip()[:100]
        with context["services"].session() as session:
            hits = search_schools(
                session=session, team_id=team_id, query=query, limit=OPTIONS_LIMIT
            )
        ack(options=[_option_dict(str(s.id), f"{s.name} ({m})" if m else s.name) for s, m in hits])

    def municipality_options(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        team_id, _ = ids_of(body, context)
        query = str(body.get("value") or "").strip()[:100]
        with context["services"].session() as session:
            hits = search_municipalities(
                session=session, team_id=team_id, query=query, limit=OPTIONS_LIMIT
            )
        ack(options=[_option_dict(str(m.id), m.name) for m in hits])

    app.options(SCHOOL_SELECT_ACTION)(school_options)
    app.options(MUNICIPALITY_SELECT_ACTION)(municipality_options)

    def item_menu(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        logger: logging.Logger,
    ) -> None:
        ack()
        allowed = guarded(body, client, context, logger)
        if allowed is None:
            return
        services, team_id, user_id = allowed
        value = str((action.get("selected_option") or {}).get("value") or "")
        verb, _, rest = value.partition(":")
        kind, _, rest = rest.partition(":")
        item, _, extra = rest.partition(":")
        if kind not in NOUNS or not item.isdigit():
            logger.warning("unknown item menu value %r", value[:100])
            return
        item_id = int(item)
        # In the school list, `extra` is the page offset to come back to.
        back = f"schools:{extra}" if kind == "school" else None
        if verb == "edit":
            meta = ModalMeta(kind, item_id, back=back)
            show(
                client,
                body,
                build_modal(services, team_id=team_id, meta=meta) or notice_modal(gone_text(kind)),
            )
        elif verb == "delete":
            open_delete(
                client, body, services, team_id=team_id, meta=ModalMeta(kind, item_id, back)
            )
        elif verb == "newcontact" and kind == "school":
            meta = ModalMeta("contact", school_id=item_id, back=back)
            show(
                client,
                body,
                build_modal(services, team_id=team_id, meta=meta, role="kulturkontakt")
                or notice_modal(gone_text("school")),
            )
        elif verb == "done" and kind == "deadline":
            mark_done(
                client,
                body,
                services,
                team_id=team_id,
                user_id=user_id,
                deadline_id=item_id,
                occurrence=extra,
                logger=logger,
            )
        else:
            logger.warning("unknown item menu value %r", value[:100])

    app.action(ITEM_MENU_ACTION)(item_menu)

    def modal_delete(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        logger: logging.Logger,
    ) -> None:
        ack()
        allowed = guarded(body, client, context, logger)
        if allowed is None:
            return
        services, team_id, _ = allowed
        kind, _, item = str(action.get("value") or "").partition(":")
        if kind not in NOUNS or not item.isdigit():
            return
        current = ModalMeta.load((body.get("view") or {}).get("private_metadata"))
        back = current.back if current and current.back else "edit"
        open_delete(client, body, services, team_id=team_id, meta=ModalMeta(kind, int(item), back))

    app.action(MODAL_DELETE_ACTION)(modal_delete)

    def show_schools(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        logger: logging.Logger,
    ) -> None:
        ack()
        services: Services = context["services"]
        team_id, user_id = ids_of(body, context)
        coordinator = require_coordinator(services, client, team_id=team_id, user_id=user_id)
        value = str(action.get("value") or "0")
        offset = int(value) if value.isdigit() else 0
        view = build_schools(services, team_id=team_id, offset=offset, coordinator=coordinator)
        container = body.get("view") or {}
        if container.get("type") == "modal" and container.get("id"):
            client.views_update(view_id=container["id"], view=view)
        else:
            client.views_open(trigger_id=str(body.get("trigger_id") or ""), view=view)

    app.action(HOME_SCHOOLS)(show_schools)
    app.action(SCHOOLS_MORE_ACTION)(show_schools)

    def submit(kind: Kind) -> Callable[..., None]:
        def listener(
            ack: Ack,
            body: dict[str, Any],
            client: WebClient,
            context: BoltContext,
            logger: logging.Logger,
            view: dict[str, Any],
        ) -> None:
            services: Services = context["services"]
            team_id, user_id = ids_of(body, context)
            if not require_coordinator(services, client, team_id=team_id, user_id=user_id):
                ack(response_action="update", view=notice_modal(NOT_COORDINATOR))
                return
            meta = ModalMeta.load(view.get("private_metadata"))
            if meta is None or meta.kind != kind:
                ack(response_action="update", view=notice_modal(gone_text(kind)))
                return
            outcome = save_from_form(
                services, view, kind=kind, team_id=team_id, user_id=user_id, meta=meta
            )
            if isinstance(outcome, dict):
                ack(response_action="errors", errors=outcome)
                return
            if outcome is None:
                ack(response_action="update", view=notice_modal(gone_text(kind)))
                return
            ack()
            after_change(
                client,
                services,
                team_id=team_id,
                user_id=user_id,
                kind=kind,
                item_id=outcome,
                logger=logger,
                back=meta.back,
                previous_view_id=view.get("previous_view_id"),
            )

        return listener

    app.view(DEADLINE_CALLBACK)(submit("deadline"))
    app.view(MEETING_CALLBACK)(submit("meeting"))
    app.view(CONTACT_CALLBACK)(submit("contact"))
    app.view(SCHOOL_CALLBACK)(submit("school"))

    def confirm_delete(
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        logger: logging.Logger,
        view: dict[str, Any],
    ) -> None:
        services: Services = context["services"]
        team_id, user_id = ids_of(body, context)
        if not require_coordinator(services, client, team_id=team_id, user_id=user_id):
            ack(response_action="update", view=notice_modal(NOT_COORDINATOR))
            return
        meta = ModalMeta.load(view.get("private_metadata"))
        if meta is None or meta.item_id is None:
            ack(response_action="update", view=notice_modal("Jeg vet ikke hva som skal slettes."))
            return
        try:
            with services.session(write=True) as session:
                delete_item(
                    session=session,
                    kind=_kind(meta.kind),
                    team_id=team_id,
                    item_id=meta.item_id,
                    user_id=user_id,
                    at=services.clock(),
                )
        except ItemNotFound:
            ack(response_action="update", view=notice_modal(gone_text(meta.kind)))
            return
        except ItemInUse:
            ack(
                response_action="update",
                view=notice_modal(
                    "Skolen har forestillinger i turnéplanen og kan ikke slettes. "
                    "Gi den heller nytt navn, eller fjern forestillingene først."
                ),
            )
            return
        # Deleted from its edit modal: close that too, it shows something that is gone.
        if meta.back == "edit":
            ack(response_action="clear")
        else:
            ack()
        after_change(
            client,
            services,
            team_id=team_id,
            user_id=user_id,
            kind=meta.kind,
            item_id=meta.item_id,
            logger=logger,
            back=meta.back,
            previous_view_id=view.get("previous_view_id"),
        )

    app.view(DELETE_CALLBACK)(confirm_delete)


def _schools_offset(body: dict[str, Any]) -> int:
    try:
        meta = json.loads((body.get("view") or {}).get("private_metadata") or "{}")
        return max(0, int(meta.get("offset", 0)))
    except (ValueError, TypeError, AttributeError):
        return 0


DELETE_CONSEQUENCES = {
    "deadline": "Påminnelser som ikke er sendt ennå, stoppes.",
    "meeting": "Påminnelser som ikke er sendt ennå, stoppes.",
    "contact": "",
    "school": "Kontaktene på skolen blir liggende, uten skole.",
}


def open_delete(
    client: WebClient, body: dict[str, Any], services: Services, *, team_id: str, meta: ModalMeta
) -> None:
    assert meta.item_id is not None
    with services.session() as session:
        row = get_item(
            session=session, kind=_kind(meta.kind), team_id=team_id, item_id=meta.item_id
        )
        label = "" if row is None else label_of(_kind(meta.kind), row)
    if row is None:
        show(client, body, notice_modal(gone_text(meta.kind)))
        return
    show(
        client,
        body,
        delete_modal(meta=meta, label=label, consequence=DELETE_CONSEQUENCES[meta.kind]),
    )


def mark_done(
    client: WebClient,
    body: dict[str, Any],
    services: Services,
    *,
    team_id: str,
    user_id: str,
    deadline_id: int,
    occurrence: str,
    logger: logging.Logger,
) -> None:
    try:
        day = date.fromisoformat(occurrence)
    except ValueError:
        logger.warning("bad occurrence in a done click: %r", occurrence[:20])
        return
    try:
        with services.session(write=True) as session:
            mark_deadline_done(
                session=session,
                team_id=team_id,
                deadline_id=deadline_id,
                occurrence=day,
                user_id=user_id,
                at=services.clock(),
            )
    except ItemNotFound:
        show(client, body, notice_modal(gone_text("deadline")))
        return
    after_change(
        client,
        services,
        team_id=team_id,
        user_id=user_id,
        kind="deadline",
        item_id=deadline_id,
        logger=logger,
    )


def save_from_form(
    services: Services,
    view: dict[str, Any],
    *,
    kind: Kind,
    team_id: str,
    user_id: str,
    meta: ModalMeta,
) -> int | dict[str, str] | None:
    """Validate and store: the row id, field errors for the ack, or None if the row is gone."""
    with services.session(write=True) as session:
        existing: Any = None
        if meta.item_id is not None:
            existing = get_item(session=session, kind=kind, team_id=team_id, item_id=meta.item_id)
            if existing is None:
                return None
        if kind in ("deadline", "meeting"):
            form = parse_calendar_form(
                "deadline" if kind == "deadline" else "meeting", view, existing
            )
        elif kind == "contact":
            form = parse_contact_form(view)
            _check_places(session, form, team_id)
        else:
            form = parse_school_form(view)
            _check_places(session, form, team_id)
            if not form.errors and find_school(
                session=session,
                team_id=team_id,
                name=form.values["name"],
                municipality_id=form.values["municipality_id"],
                other_than=meta.item_id,
            ):
                form.errors[TITLE_BLOCK] = "Det finnes allerede en skole med det navnet her."
        if form.errors:
            return form.errors
        try:
            result = save_item(
                session=session,
                kind=kind,
                team_id=team_id,
                item_id=meta.item_id,
                values=form.values,
                user_id=user_id,
                at=services.clock(),
            )
        except ItemNotFound:
            return None
        return int(result.row.id)


def _check_places(session: Session, form: Form, team_id: str) -> None:
    school_id = form.values.get("school_id")
    if school_id is not None and (
        get_item(session=session, kind="school", team_id=team_id, item_id=school_id) is None
    ):
        form.errors[SCHOOL_BLOCK] = "Velg en skole fra lista."
    muni_id = form.values.get("municipality_id")
    if muni_id is not None:
        muni = session.get(Municipality, muni_id)
        if muni is None or muni.team_id != team_id:
            form.errors[MUNICIPALITY_BLOCK] = "Velg en kommune fra lista."
