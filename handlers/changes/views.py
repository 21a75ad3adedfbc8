"""Block Kit for change requests outside the forms: the messages to the kulturkontakter, the
tour plan and a school's requests in modals, `/dks endringer`, the Home section and the
whole round for coordinators, the status DMs. Pure functions of data; the ids are shared with
the listeners and the tests."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    Option,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from handlers.core.format import day_text, escape, klokkeslett, mention, truncate
from handlers.core.i18n import N_, _, ngettext
from handlers.core.values import row_id
from storage.changes import (
    REASON_WORDS,
    SETTABLE_STATUSES,
    STATUS_WORDS,
    RequestLine,
    RoundOpened,
    RoundOverview,
    SchoolInRound,
    SchoolRef,
)
from storage.models import AnswerKind, ChangeRound, ChangeStatus
from storage.tourplan import PerformanceInfo

# --- ids ---------------------------------------------------------------------------------------

START_ACTION = "changes_start"  # «Start endringsrunde» (Home, coordinators)
PLAN_ACTION = "changes_plan"  # «Se turnéplanen»: value «round:school»
REPORT_ACTION = "changes_report"  # «Meld endring»: value «round:school» or «round:»
NO_CHANGES_ACTION = "changes_no_changes"  # «Alt ser bra ut»: value «round:school»
LIST_ACTION = "changes_list"  # «Se skolens endringer»: value «round:school»
EDIT_ACTION = "changes_edit"  # «Endre»: value the request id
WITHDRAW_ACTION = "changes_withdraw"  # «Trekk tilbake»: value the request id
STATUS_ACTION = "changes_status"  # the coordinator's status menu: option «request:status»
ROUND_ACTION = "changes_round"  # «Se hele runden» (Home)
EXPORT_XLSX_ACTION = "changes_export_xlsx"
EXPORT_CSV_ACTION = "changes_export_csv"
EXPORT_ACTIONS = re.compile(rf"^(?:{EXPORT_XLSX_ACTION}|{EXPORT_CSV_ACTION})$")

INVITE_BLOCK = "changes_invite"
SCHOOL_BLOCK_PREFIX = "changes_school_"
REQUEST_BLOCK_PREFIX = "changes_request_"
HOME_BLOCK = "changes_home"
PLAN_CALLBACK = "changes_plan_view"
LIST_CALLBACK = "changes_list_view"
ROUND_CALLBACK = "changes_round_view"
OPENED_CALLBACK = "changes_opened"

MODAL_TITLE_LIMIT = 24
SECTION_LIMIT = 2900
VIEW_BLOCKS = 100
MESSAGE_BLOCKS = 50
HOME_REQUESTS = 6  # the Home section shows this many requests (it may use 12 blocks)
SILENT_NAMES = 40  # and names this many of the schools that have not answered
OPTION_TEXT_LIMIT = 75

# --- words -------------------------------------------------------------------------------------
# Bokmål messages, translated where shown: `_(NO_ROUND)`.

NO_ROUND = N_("Ingen endringsrunde er startet ennå.")
GONE = N_("Jeg finner ikke dette lenger. Det kan være slettet; skriv `/dks endringer` for å se.")
NOT_THEIRS = N_(
    "Bare skolens kulturkontakt eller en koordinator kan melde endringer for skolen. Er du "
    "kulturkontakt, be en koordinator koble deg til skolen."
)
HAS_REQUESTS = N_(
    "Skolen har meldt endringer i denne runden. Trekk dem tilbake først hvis alt likevel ser "
    "bra ut."
)
STORE_FAILED = N_(
    "Jeg fikk ikke lagret akkurat nå. Det du har skrevet, står fortsatt her: prøv igjen om litt."
)
STATUS_WORDS_LONG = {
    ChangeStatus.NEW.value: N_(
        "Endringsønsket for «%(title)s» på %(school)s %(day)s er satt tilbake til «ny»."
    ),
    ChangeStatus.SENT.value: N_(
        "Endringsønsket for «%(title)s» på %(school)s %(day)s er sendt til fylket."
    ),
    ChangeStatus.REJECTED.value: N_(
        "Endringsønsket for «%(title)s» på %(school)s %(day)s er avslått."
    ),
    ChangeStatus.CHANGED.value: N_(
        "Endringsønsket for «%(title)s» på %(school)s %(day)s er tatt til følge: "
        "forestillingen er endret."
    ),
}


def round_closed_text(closing_date: date) -> str:
    return _(
        "Fristen for endringer var %(day)s. Ta kontakt med koordinatoren hvis noe fortsatt "
        "må endres."
    ) % {"day": day_text(closing_date)}


def round_open_text(closing_date: date) -> str:
    return _("En endringsrunde er allerede åpen, med frist %(day)s.") % {
        "day": day_text(closing_date)
    }


def decided_text(status: str) -> str:
    if status == ChangeStatus.WITHDRAWN.value:
        return _("Endringsønsket er trukket tilbake. Meld et nytt om det fortsatt trengs.")
    return _(
        "Koordinatoren har allerede behandlet endringsønsket (%(status)s), så det kan ikke "
        "endres eller trekkes. Ta kontakt med koordinatoren."
    ) % {"status": status_word(status)}


# --- values ------------------------------------------------------------------------------------


def school_value(round_id: int, school_id: int | None) -> str:
    return f"{round_id}:{school_id or ''}"


@dataclass(frozen=True)
class SchoolValue:
    round_id: int | None
    school_id: int | None


def parse_school_value(value: object) -> SchoolValue:
    """«round:school» (school may be empty); Nones for anything that is not ours."""
    if not isinstance(value, str):
        return SchoolValue(None, None)
    head, _sep, tail = value.partition(":")
    return SchoolValue(row_id(head), row_id(tail) if tail else None)


def status_value(request_id: int, status: str) -> str:
    return f"{request_id}:{status}"


def parse_status_value(value: object) -> tuple[int | None, str | None]:
    if not isinstance(value, str):
        return None, None
    head, _sep, status = value.partition(":")
    return row_id(head), status if status in SETTABLE_STATUSES else None


# --- words for data ----------------------------------------------------------------------------


def reason_word(code: str) -> str:
    word = REASON_WORDS.get(code)
    return _(word) if word else code


def status_word(code: str) -> str:
    word = STATUS_WORDS.get(code)
    return _(word) if word else code


def clock_span(start: datetime, end: datetime | None, tz: ZoneInfo) -> str:
    clock = klokkeslett(start.astimezone(tz))
    if end is not None:
        clock += f"–{klokkeslett(end.astimezone(tz))}"
    return clock


def when_text(day: date, clock: str) -> str:
    """«tirsdag 24. november 2026 kl. 08:30»."""
    return _("%(when)s kl. %(time)s") % {"when": day_text(day, weekday=True), "time": clock}


def wish_text(line: RequestLine) -> str:
    if line.wished_date is not None and line.wished_time is not None:
        return _("ønsket %(when)s") % {
            "when": when_text(line.wished_date, klokkeslett(line.wished_time))
        }
    if line.wished_date is not None:
        return _("ønsket %(when)s") % {"when": day_text(line.wished_date, weekday=True)}
    if line.wished_week is not None:
        return _("ønsket: hvilken som helst dag i uke %(week)d (%(year)d)") % {
            "week": line.wished_week,
            "year": line.wished_year or line.day.year,
        }
    return _("ingen ny dato ønsket")


def request_text(line: RequestLine, *, school: bool = True, status: bool = True) -> str:
    """A request in a few lines of mrkdwn."""
    title = escape(truncate(line.production_title, 120))
    head = f"*{title}* – {when_text(line.day, klokkeslett(line.start))}"
    parts = [reason_word(line.reason), wish_text(line)]
    if school:
        parts.insert(0, escape(line.school.label))
    lines = [head, " · ".join(parts)]
    if line.comment:
        lines.append(
            _("_Kommentar:_ «%(comment)s»") % {"comment": escape(truncate(line.comment, 300))}
        )
    if line.contact_person:
        lines.append(
            _("_Kontaktperson:_ %(who)s") % {"who": escape(truncate(line.contact_person, 200))}
        )
    if status:
        lines.append(
            _("Status: *%(status)s* · meldt av %(who)s")
            % {
                "status": status_word(line.status),
                "who": mention(line.filed_by),
            }
        )
    return truncate("\n".join(lines), SECTION_LIMIT)


def _section(text: str, *, block_id: str | None = None, accessory: object = None) -> SectionBlock:
    return SectionBlock(
        block_id=block_id,
        text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT)),
        accessory=accessory,  # type: ignore[arg-type]
    )


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(text, SECTION_LIMIT))])


def plain_blocks(text: str) -> list[Block]:
    return [_section(text)]


# --- a school's state --------------------------------------------------------------------------


def school_state(school: SchoolInRound) -> str:
    if school.answer == AnswerKind.NO_CHANGES.value:
        return _(":white_check_mark: alt ser bra ut")
    if school.answer == AnswerKind.CHANGES.value or school.requests:
        return ngettext(
            ":pencil2: %(n)d endringsønske", ":pencil2: %(n)d endringsønsker", school.requests
        ) % {"n": school.requests}
    if not school.kulturkontakt_users:
        return _(":grey_question: ikke svart (ingen kulturkontakt i Slack)")
    return _(":hourglass_flowing_sand: ikke svart")


@dataclass(frozen=True)
class Tally:
    schools: int
    changes: int
    no_changes: int
    silent: int
    requests: int

    @classmethod
    def of(cls, schools: Sequence[SchoolInRound]) -> Tally:
        changes = sum(1 for s in schools if s.answer == AnswerKind.CHANGES.value)
        no_changes = sum(1 for s in schools if s.answer == AnswerKind.NO_CHANGES.value)
        return cls(
            schools=len(schools),
            changes=changes,
            no_changes=no_changes,
            silent=len(schools) - changes - no_changes,
            requests=sum(s.requests for s in schools),
        )


def tally_text(tally: Tally) -> str:
    """«3 skoler: 1 med endringer (2 endringsønsker), 1 alt ser bra ut, 1 har ikke svart.»"""
    schools = ngettext("%(n)d skole", "%(n)d skoler", tally.schools) % {"n": tally.schools}
    changes = ngettext(
        "%(n)d med endringer (%(requests)s)", "%(n)d med endringer (%(requests)s)", tally.changes
    ) % {
        "n": tally.changes,
        "requests": ngettext("%(n)d endringsønske", "%(n)d endringsønsker", tally.requests)
        % {"n": tally.requests},
    }
    fine = _("%(n)d alt ser bra ut") % {"n": tally.no_changes}
    silent = ngettext("%(n)d har ikke svart", "%(n)d har ikke svart", tally.silent) % {
        "n": tally.silent
    }
    return _("%(schools)s: %(changes)s, %(fine)s, %(silent)s.") % {
        "schools": schools,
        "changes": changes,
        "fine": fine,
        "silent": silent,
    }


def round_heading(round_: ChangeRound, today: date) -> str:
    if today <= round_.closing_date:
        return _("*Frist for skolene: %(day)s* (åpen)") % {"day": day_text(round_.closing_date)}
    return _("*Frist for skolene var %(day)s* (stengt)") % {"day": day_text(round_.closing_date)}


# --- buttons -----------------------------------------------------------------------------------


def school_buttons(
    round_id: int, school_id: int, *, open_: bool, requests: int = 0
) -> list[ButtonElement]:
    """«Se turnéplanen», and while the round is open «Meld endring» and (before any request)
    «Alt ser bra ut»; «Se skolens endringer» once there are requests."""
    value = school_value(round_id, school_id)
    buttons = [ButtonElement(text=_("Se turnéplanen"), action_id=PLAN_ACTION, value=value)]
    if open_:
        buttons.append(
            ButtonElement(
                text=_("Meld endring"), action_id=REPORT_ACTION, value=value, style="primary"
            )
        )
        if not requests:
            buttons.append(
                ButtonElement(text=_("Alt ser bra ut"), action_id=NO_CHANGES_ACTION, value=value)
            )
    if requests:
        buttons.append(
            ButtonElement(text=_("Se skolens endringer"), action_id=LIST_ACTION, value=value)
        )
    return buttons


# --- the messages to a kulturkontakt ------------------------------------------------------------


def invitation(
    *, round_id: int, closing_date: date, school: SchoolRef, followup: int = 0
) -> tuple[str, list[Block]]:
    """The DM when a round opens (and its follow-ups): text and blocks."""
    names = {"school": escape(school.name), "day": day_text(closing_date)}
    if followup:
        text = (
            _(
                "Påminnelse: Turnéplanen for %(school)s venter på svar. Si fra om noe må endres "
                "innen %(day)s, eller trykk «Alt ser bra ut»."
            )
            % names
        )
    else:
        text = (
            _(
                "Turnéplanen for %(school)s er klar. Se den og si fra om noe må endres "
                "innen %(day)s."
            )
            % names
        )
    blocks: list[Block] = [
        _section(text, block_id=INVITE_BLOCK + "_text"),
        _context(
            _(
                "Meld én endring per forestilling: grunn, ønsket dato eller uke, og hvem fylket "
                "kan kontakte. Du kan endre eller trekke ønskene til og med fristen."
            )
        ),
        ActionsBlock(
            block_id=INVITE_BLOCK,
            elements=school_buttons(round_id, school.id, open_=True),
        ),
    ]
    return text, blocks


def no_changes_recorded(
    *, round_id: int, closing_date: date, school: SchoolRef, user_id: str, today: date
) -> tuple[str, list[Block]]:
    """The message after «Alt ser bra ut», in place of the one clicked."""
    text = _(
        ":white_check_mark: Takk! Registrert at alt ser bra ut i turnéplanen for %(school)s."
    ) % {"school": escape(school.name)}
    note = _(
        "Svart av %(who)s %(day)s. Du kan fortsatt melde en endring til og med %(closing)s."
    ) % {"who": mention(user_id), "day": day_text(today), "closing": day_text(closing_date)}
    blocks: list[Block] = [
        _section(text, block_id=INVITE_BLOCK + "_text"),
        _context(note),
        ActionsBlock(
            block_id=INVITE_BLOCK,
            elements=[
                ButtonElement(
                    text=_("Se turnéplanen"),
                    action_id=PLAN_ACTION,
                    value=school_value(round_id, school.id),
                ),
                ButtonElement(
                    text=_("Meld endring"),
                    action_id=REPORT_ACTION,
                    value=school_value(round_id, school.id),
                ),
            ],
        ),
    ]
    return text, blocks


def status_message(line: RequestLine) -> tuple[str, list[Block]]:
    """The DM to a kulturkontakt when the coordinator (or a new tour plan) changed its
    request's status."""
    sentence = STATUS_WORDS_LONG.get(line.status)
    names = {
        "title": escape(line.production_title),
        "school": escape(line.school.name),
        "day": day_text(line.day),
    }
    if sentence is None:
        text = _(
            "Endringsønsket for «%(title)s» på %(school)s %(day)s har fått status «%(status)s»."
        ) % {
            **names,
            "status": status_word(line.status),
        }
    else:
        text = _(sentence) % names
    blocks: list[Block] = [_section(text)]
    wish = wish_text(line)
    notes = [wish[:1].upper() + wish[1:] + "."]
    if line.resolved_by_import:
        notes.append(_("Den nye turnéplanen har forestillingen på ønsket tid."))
    if line.status == ChangeStatus.REJECTED.value:
        notes.append(_("Ta kontakt med koordinatoren hvis du har spørsmål."))
    blocks.append(_context(" ".join(notes)))
    return text, blocks


# --- modals ------------------------------------------------------------------------------------


def _modal(
    callback_id: str, title: str, blocks: Sequence[Block], *, metadata: str | None = None
) -> View:
    return View(
        type="modal",
        callback_id=callback_id,
        title=truncate(title, MODAL_TITLE_LIMIT),
        close=_("Lukk"),
        private_metadata=metadata,
        blocks=list(blocks)[:VIEW_BLOCKS],
    )


def performance_text(performance: PerformanceInfo, tz: ZoneInfo) -> str:
    local = performance.starts_at.astimezone(tz)
    head = f"*{escape(truncate(performance.title, 150))}*"
    if performance.cancelled:
        head += " " + _("(avlyst)")
    parts = [when_text(local.date(), clock_span(performance.starts_at, performance.ends_at, tz))]
    if performance.grade_levels:
        parts.append(_("%(grades)s trinn") % {"grades": escape(performance.grade_levels)})
    if performance.expected_pupils is not None:
        parts.append(
            ngettext("%(n)d elev", "%(n)d elever", performance.expected_pupils)
            % {"n": performance.expected_pupils}
        )
    if performance.venue:
        parts.append(escape(performance.venue))
    return f"{head}\n" + " · ".join(parts)


def plan_modal(
    *,
    school: SchoolRef,
    performances: Sequence[PerformanceInfo],
    tz: ZoneInfo,
    round_id: int | None,
    closing_date: date | None,
    open_: bool,
) -> View:
    """«Se turnéplanen»: the school's performances (date, time, production, grade levels,
    pupils, place)."""
    count = len(performances)
    blocks: list[Block] = [
        _section(
            ngettext(
                "*%(school)s* har %(n)d forestilling i turnéplanen:",
                "*%(school)s* har %(n)d forestillinger i turnéplanen:",
                count,
            )
            % {"school": escape(school.label), "n": count}
            if count
            else _("*%(school)s* har ingen forestillinger i turnéplanen.")
            % {"school": escape(school.label)}
        )
    ]
    room = VIEW_BLOCKS - 4
    for performance in performances[:room]:
        blocks.append(_section(performance_text(performance, tz)))
    if count > room:
        blocks.append(
            _context(
                ngettext("Og %(n)d forestilling til.", "Og %(n)d forestillinger til.", count - room)
                % {"n": count - room}
            )
        )
    if round_id is not None and closing_date is not None and open_:
        blocks.append(DividerBlock())
        blocks.append(
            _context(_("Må noe endres? Meld det innen %(day)s.") % {"day": day_text(closing_date)})
        )
        blocks.append(
            ActionsBlock(
                block_id=INVITE_BLOCK,
                elements=[
                    ButtonElement(
                        text=_("Meld endring"),
                        action_id=REPORT_ACTION,
                        value=school_value(round_id, school.id),
                        style="primary",
                    )
                ],
            )
        )
    return _modal(PLAN_CALLBACK, _("Turnéplanen"), blocks)


def request_buttons(line: RequestLine) -> ActionsBlock:
    return ActionsBlock(
        block_id=f"{REQUEST_BLOCK_PREFIX}{line.id}_actions",
        elements=[
            ButtonElement(text=_("Endre"), action_id=EDIT_ACTION, value=str(line.id)),
            ButtonElement(
                text=_("Trekk tilbake"),
                action_id=WITHDRAW_ACTION,
                value=str(line.id),
                style="danger",
                confirm=ConfirmObject(
                    title=_("Trekke tilbake?"),
                    text=_("Endringsønsket for «%(title)s» trekkes tilbake.")
                    % {"title": truncate(line.production_title, 150)},
                    confirm=_("Trekk tilbake"),
                    deny=_("Avbryt"),
                ),
            ),
        ],
    )


def school_requests_modal(
    *,
    round_id: int,
    closing_date: date,
    school: SchoolRef,
    requests: Sequence[RequestLine],
    open_: bool,
    note: str | None = None,
) -> View:
    """A school's requests in the round, each with «Endre» and «Trekk tilbake» while it is
    «ny» and the round open; after a form is sent, its thanks (`note`) on top."""
    blocks: list[Block] = []
    if note:
        blocks.append(_section(note))
    if requests:
        blocks.append(
            _section(
                ngettext(
                    "*%(school)s* har %(n)d endringsønske i denne runden:",
                    "*%(school)s* har %(n)d endringsønsker i denne runden:",
                    len(requests),
                )
                % {"school": escape(school.label), "n": len(requests)}
            )
        )
    else:
        blocks.append(
            _section(
                _("*%(school)s* har ingen endringsønsker i denne runden.")
                % {"school": escape(school.label)}
            )
        )
    room = VIEW_BLOCKS - 4
    for line in requests:
        changeable = open_ and line.status == ChangeStatus.NEW.value
        wanted = 2 if changeable else 1
        if len(blocks) + wanted > room:
            blocks.append(_context(_("Flere endringsønsker er ikke vist.")))
            break
        blocks.append(
            _section(request_text(line, school=False), block_id=f"{REQUEST_BLOCK_PREFIX}{line.id}")
        )
        if changeable:
            blocks.append(request_buttons(line))
    if open_:
        blocks.append(
            _context(
                _("Du kan endre eller trekke ønsker som er «ny», til og med %(day)s.")
                % {"day": day_text(closing_date)}
            )
        )
        blocks.append(
            ActionsBlock(
                block_id=INVITE_BLOCK,
                elements=[
                    ButtonElement(
                        text=_("Meld en endring til"),
                        action_id=REPORT_ACTION,
                        value=school_value(round_id, school.id),
                    )
                ],
            )
        )
    else:
        blocks.append(_context(round_closed_text(closing_date)))
    return _modal(LIST_CALLBACK, _("Endringsønsker"), blocks)


def thanks_note(line: RequestLine, *, created: bool) -> str:
    names = {"title": escape(line.production_title), "day": day_text(line.day)}
    if created:
        return (
            _(
                ":white_check_mark: Takk! Endringsønsket for *%(title)s* %(day)s er sendt til "
                "koordinatoren."
            )
            % names
        )
    return _(":white_check_mark: Endringsønsket for *%(title)s* %(day)s er oppdatert.") % names


def withdrawn_note(line: RequestLine) -> str:
    return _("Endringsønsket for *%(title)s* %(day)s er trukket tilbake.") % {
        "title": escape(line.production_title),
        "day": day_text(line.day),
    }


def opened_modal(opened: RoundOpened, *, invited: int) -> View:
    """What the coordinator sees once the round is started."""
    closing = opened.round.closing_date
    lines = [
        _(":white_check_mark: Endringsrunden er startet, med frist %(day)s.")
        % {"day": day_text(closing)},
        ngettext(
            "%(n)d skole har forestillinger i turnéplanen.",
            "%(n)d skoler har forestillinger i turnéplanen.",
            len(opened.schools),
        )
        % {"n": len(opened.schools)},
        ngettext(
            "Jeg sender melding til %(n)d kulturkontakt nå.",
            "Jeg sender melding til %(n)d kulturkontakter nå.",
            invited,
        )
        % {"n": invited},
    ]
    blocks: list[Block] = [_section("\n".join(lines))]
    missing = opened.without_kulturkontakt
    if missing:
        names = ", ".join(escape(s.school.label) for s in missing)
        blocks.append(
            _section(
                ngettext(
                    "*Uten kulturkontakt i Slack* (%(n)d): %(names)s",
                    "*Uten kulturkontakt i Slack* (%(n)d): %(names)s",
                    len(missing),
                )
                % {"n": len(missing), "names": names}
            )
        )
        blocks.append(
            _context(
                _(
                    "Disse skolene får ingen melding. Du kan melde endringer for dem selv med "
                    "`/dks endringer`, eller koble en kulturkontakt til skolen."
                )
            )
        )
    blocks.append(_context(_("Du følger runden i Hjem-fanen, og med `/dks endringer`.")))
    return _modal(OPENED_CALLBACK, _("Endringsrunde"), blocks)


# --- the coordinator's overview ----------------------------------------------------------------


def status_menu(line: RequestLine) -> StaticSelectElement | None:
    """The status menu of a request (none once the school withdrew it)."""
    if line.status == ChangeStatus.WITHDRAWN.value:
        return None
    options = [
        Option(value=status_value(line.id, code), text=status_word(code))
        for code in SETTABLE_STATUSES
    ]
    initial = next((o for o in options if o.value == status_value(line.id, line.status)), None)
    return StaticSelectElement(
        action_id=STATUS_ACTION,
        placeholder=_("Status"),
        options=options,
        initial_option=initial,
    )


def _request_section(line: RequestLine) -> SectionBlock:
    return _section(
        request_text(line),
        block_id=f"{REQUEST_BLOCK_PREFIX}{line.id}",
        accessory=status_menu(line),
    )


def _school_lines(schools: Sequence[SchoolInRound]) -> list[str]:
    return [f"• {escape(s.school.label)} – {school_state(s)}" for s in schools]


def _joined(lines: Sequence[str], limit: int = SECTION_LIMIT) -> list[str]:
    """Lines grouped into texts of at most `limit` characters."""
    texts: list[str] = []
    current = ""
    for line in lines:
        line = truncate(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            texts.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        texts.append(current)
    return texts


# Open requests first (what the coordinator still has to decide), then the decided.
_STATUS_ORDER = {
    ChangeStatus.NEW.value: 0,
    ChangeStatus.SENT.value: 1,
    ChangeStatus.CHANGED.value: 2,
    ChangeStatus.REJECTED.value: 3,
    ChangeStatus.WITHDRAWN.value: 4,
}


def by_status(requests: Sequence[RequestLine]) -> list[RequestLine]:
    return sorted(requests, key=lambda r: _STATUS_ORDER.get(r.status, 9))


def export_buttons(round_id: int) -> list[ButtonElement]:
    return [
        ButtonElement(
            text=_("Last ned som Excel"), action_id=EXPORT_XLSX_ACTION, value=str(round_id)
        ),
        ButtonElement(text=_("Last ned som CSV"), action_id=EXPORT_CSV_ACTION, value=str(round_id)),
    ]


def start_button() -> ButtonElement:
    return ButtonElement(
        text=_("Start endringsrunde"), action_id=START_ACTION, value="start", style="primary"
    )


@dataclass(frozen=True)
class HomeRound:
    """What the Home section shows of a round: counts, the schools that have not answered
    (perhaps only the first of them), and the first requests to decide on."""

    round: ChangeRound
    tally: Tally
    silent: Sequence[SchoolRef]
    first: Sequence[RequestLine]  # at most HOME_REQUESTS, «ny» first

    @classmethod
    def of(cls, round_: ChangeRound, overview: RoundOverview) -> HomeRound:
        return cls(
            round=round_,
            tally=Tally(
                schools=overview.schools,
                changes=overview.changes,
                no_changes=overview.no_changes,
                silent=overview.silent,
                requests=overview.requests,
            ),
            silent=overview.silent_schools,
            first=overview.first[:HOME_REQUESTS],
        )


def home_blocks(*, shown: HomeRound | None, today: date) -> list[Block]:
    """The coordinators' Home section (at most 12 blocks): the round per school, the requests
    with their status menus, and what to do next; «Start endringsrunde» without a round."""
    blocks: list[Block] = [
        HeaderBlock(block_id=HOME_BLOCK, text=_("Endringsønsker til turnéplanen"))
    ]
    if shown is None or shown.round.id is None:
        blocks.append(
            _section(
                _(
                    "Når fylket har sendt ut turnéplanen, starter du en runde: kulturkontaktene "
                    "får melding og kan melde endringer til en frist."
                ),
                block_id=f"{HOME_BLOCK}_start",
                accessory=start_button(),
            )
        )
        return blocks
    round_, tally = shown.round, shown.tally
    assert round_.id is not None
    blocks.append(
        _section(
            f"{round_heading(round_, today)}\n{tally_text(tally)}", block_id=f"{HOME_BLOCK}_tally"
        )
    )
    if shown.silent:
        names = ", ".join(escape(s.label) for s in shown.silent)
        if len(shown.silent) < tally.silent:
            names += " …"
        blocks.append(_context(_("*Ikke svart:* %(names)s") % {"names": names}))
    for line in shown.first[:HOME_REQUESTS]:
        blocks.append(_request_section(line))
    rest = tally.requests - len(shown.first[:HOME_REQUESTS])
    if rest > 0:
        blocks.append(
            _context(
                ngettext(
                    "Og %(n)d endringsønske til: «Se hele runden».",
                    "Og %(n)d endringsønsker til: «Se hele runden».",
                    rest,
                )
                % {"n": rest}
            )
        )
    buttons = [
        ButtonElement(text=_("Se hele runden"), action_id=ROUND_ACTION, value=str(round_.id))
    ]
    if tally.requests:
        buttons.extend(export_buttons(round_.id))
    if today > round_.closing_date:
        buttons.append(start_button())
    blocks.append(ActionsBlock(block_id=f"{HOME_BLOCK}_actions", elements=buttons))
    return blocks


def round_modal(
    *,
    round_: ChangeRound,
    schools: Sequence[SchoolInRound],
    requests: Sequence[RequestLine],
    today: date,
) -> View:
    """«Se hele runden»: every school and its requests, each with its status menu; while the
    round is open, a school with requests has «Endre eller trekk» (its list, as the school's
    kulturkontakt sees it)."""
    assert round_.id is not None
    blocks: list[Block] = [
        _section(f"{round_heading(round_, today)}\n{tally_text(Tally.of(schools))}")
    ]
    by_school: dict[int, list[RequestLine]] = {}
    for line in requests:
        by_school.setdefault(line.school.id, []).append(line)
    room = VIEW_BLOCKS - 2
    shown_all = True
    for school in schools:
        wanted = 2 + len(by_school.get(school.school.id, []))
        if len(blocks) + min(wanted, 2) > room:
            shown_all = False
            break
        blocks.append(DividerBlock())
        # Its requests to edit or withdraw on the school's behalf, while the round is open.
        edit = (
            ButtonElement(
                text=_("Endre eller trekk"),
                action_id=LIST_ACTION,
                value=school_value(round_.id, school.school.id),
            )
            if school.requests and today <= round_.closing_date
            else None
        )
        blocks.append(
            _section(
                f"*{escape(school.school.label)}* – {school_state(school)}",
                block_id=f"{SCHOOL_BLOCK_PREFIX}{school.school.id}",
                accessory=edit,
            )
        )
        for line in by_status(by_school.get(school.school.id, [])):
            if len(blocks) + 1 > room:
                shown_all = False
                break
            blocks.append(_request_section(line))
    if not shown_all:
        blocks.append(_context(_("Ikke alt fikk plass her. Last ned filen for å se hele runden.")))
    return _modal(ROUND_CALLBACK, _("Endringsrunden"), blocks, metadata=str(round_.id))


# --- `/dks endringer` --------------------------------------------------------------------------


def coordinator_reply(
    *, round_: ChangeRound, schools: Sequence[SchoolInRound], today: date
) -> tuple[str, list[Block]]:
    heading = _("*Endringsønsker til turnéplanen*")
    text = f"{heading}\n{round_heading(round_, today)}\n{tally_text(Tally.of(schools))}"
    blocks: list[Block] = [_section(text)]
    room = MESSAGE_BLOCKS - 2
    for chunk in _joined(_school_lines(schools)):
        if len(blocks) >= room:
            break
        blocks.append(_section(chunk))
    blocks.append(
        _context(
            _(
                "Behandle endringsønskene og last ned filen til fylket i Hjem-fanen. Du kan "
                "melde endringer for en skole selv med «Meld endring»."
            )
        )
    )
    if round_.id is not None and today <= round_.closing_date:
        blocks.append(
            ActionsBlock(
                block_id=INVITE_BLOCK,
                elements=[
                    ButtonElement(
                        text=_("Meld endring"),
                        action_id=REPORT_ACTION,
                        value=school_value(round_.id, None),
                    )
                ],
            )
        )
    return text, blocks


def own_schools_reply(
    *, round_: ChangeRound, schools: Sequence[SchoolInRound], today: date
) -> tuple[str, list[Block]]:
    """For a kulturkontakt: each of their schools in the round, with its buttons."""
    assert round_.id is not None
    open_ = today <= round_.closing_date
    text = (
        _("Endringsrunden er åpen til og med %(day)s.") % {"day": day_text(round_.closing_date)}
        if open_
        else round_closed_text(round_.closing_date)
    )
    blocks: list[Block] = [_section(text)]
    for school in schools[: (MESSAGE_BLOCKS - 1) // 2]:
        blocks.append(
            _section(
                f"*{escape(school.school.label)}* – {school_state(school)}",
                block_id=f"{SCHOOL_BLOCK_PREFIX}{school.school.id}",
            )
        )
        buttons = school_buttons(round_.id, school.school.id, open_=open_, requests=school.requests)
        blocks.append(
            ActionsBlock(
                block_id=f"{SCHOOL_BLOCK_PREFIX}{school.school.id}_actions", elements=buttons
            )
        )
    return text, blocks


def outsider_reply(round_: ChangeRound, today: date) -> tuple[str, list[Block]]:
    if today <= round_.closing_date:
        text = _(
            "Endringsrunden er åpen til og med %(day)s. Skolenes kulturkontakter melder "
            "endringer for sin skole; du er ikke kulturkontakt for noen skole i turnéplanen."
        ) % {"day": day_text(round_.closing_date)}
    else:
        text = _("Den siste endringsrunden hadde frist %(day)s.") % {
            "day": day_text(round_.closing_date)
        }
    return text, plain_blocks(text)


def no_round_reply(*, coordinator: bool) -> tuple[str, list[Block]]:
    text = _(NO_ROUND)
    if coordinator:
        text += " " + _(
            "Start en med `/dks endringer start` når turnéplanen er importert: kulturkontaktene "
            "får melding og kan melde endringer til fristen du velger."
        )
    blocks: list[Block] = plain_blocks(text)
    if coordinator:
        blocks.append(ActionsBlock(block_id=f"{HOME_BLOCK}_start", elements=[start_button()]))
    return text, blocks


USAGE = N_(
    "Skriv `/dks endringer` for å se endringsrunden, eller `/dks endringer start` for å "
    "starte en ny (koordinatorer)."
)
