"""The bot's Home tab: what is coming, what lacks a date or a kulturkontakt, and buttons.

A pure builder: `home_view(HomeData)` → a `home` view of at most 100 blocks (Slack's limit), as
the JSON `views.publish` takes. Sections grow with «Vis flere» until the block budget is used;
the limits ride in the view's private_metadata so a click knows what is shown.

Every block is built with slack_sdk.models, but serialised (and so validated) once per distinct
block: the tab is published on every `app_home_opened`, its static parts never change and its
rows change only when an item or the day does, while `to_dict()` cost more than reading the
data. The remembered dicts are shared, so nothing may change them after they are built, and
every one that holds words is remembered per language (the reader's, in force when built).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    ExternalDataSelectElement,
    HeaderBlock,
    Option,
    OverflowMenuElement,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from handlers.core.format import date_and_clock, escape, how_far, truncate
from handlers.core.i18n import N_, _, current_language, ngettext
from storage.calendar import HomeItem, HomeOccurrence
from storage.models import MeetingForm

HOME_NEW_DEADLINE = "dks_home_new_deadline"
HOME_NEW_MEETING = "dks_home_new_meeting"
HOME_NEW_CONTACT = "dks_home_new_contact"
HOME_IMPORT = "dks_home_import"
HOME_EXPORT = "dks_home_export"
HOME_SCHOOLS = "dks_home_schools"
HOME_MORE = "dks_home_more"
HOME_CONTACT_PICK = "dks_home_pick_contact"
# Each row's menu (edit, mark done, delete); the editing feature handles it.
ITEM_MENU_ACTION = "dks_item_menu"

BUTTONS_BLOCK = "home_buttons"
CONTACT_PICK_BLOCK = "home_contact_pick"
DEADLINES_BLOCK = "home_deadlines"
MEETINGS_BLOCK = "home_meetings"
UNDATED_BLOCK = "home_undated"
SCHOOLS_BLOCK = "home_schools"
REMINDERS_BLOCK = "home_reminders"

MAX_BLOCKS = 100  # Slack's limit for a Home tab
DEFAULT_SHOWN = 6
MORE_STEP = 10
UNDATED_SHOWN = 4
SCHOOLS_SHOWN = 12
TITLE_LIMIT = 120

FORM_WORDS = {
    MeetingForm.DIGITAL: N_("digitalt"),
    MeetingForm.PHYSICAL: N_("fysisk"),
    MeetingForm.HYBRID: N_("fysisk og digitalt"),
}


@dataclass(frozen=True)
class HomeLimits:
    deadlines: int = DEFAULT_SHOWN
    meetings: int = DEFAULT_SHOWN

    def dump(self) -> str:
        return json.dumps({"d": self.deadlines, "m": self.meetings})

    @classmethod
    def load(cls, raw: str | None) -> HomeLimits:
        try:
            data = json.loads(raw or "{}")
            return cls(
                deadlines=max(1, min(MAX_BLOCKS, int(data.get("d", DEFAULT_SHOWN)))),
                meetings=max(1, min(MAX_BLOCKS, int(data.get("m", DEFAULT_SHOWN)))),
            )
        # int(1e400) overflows; a crafted value falls back like a garbled one.
        except (ValueError, TypeError, AttributeError, OverflowError, RecursionError):
            return cls()

    def more(self, section: str) -> HomeLimits:
        if section == "meetings":
            return replace(self, meetings=self.meetings + MORE_STEP)
        return replace(self, deadlines=self.deadlines + MORE_STEP)


@dataclass(frozen=True)
class ReminderStatus:
    channel_id: str | None
    paused: bool


@dataclass(frozen=True)
class HomeData:
    today: date
    coordinator: bool
    limits: HomeLimits
    deadlines: Sequence[HomeOccurrence]
    deadlines_more: bool
    meetings: Sequence[HomeOccurrence]
    meetings_more: bool
    undated: Sequence[HomeItem]
    undated_total: int
    schools_missing: Sequence[tuple[str, str | None]]  # (school, municipality)
    schools_missing_total: int
    schools_total: int
    reminders: ReminderStatus
    # Sections other features add (e.g. «Tilbakemeldinger som mangler»), already built.
    extra_sections: Sequence[Sequence[Block]] = field(default_factory=tuple)


def item_menu(kind: str, item_id: int, occurrence: date | None) -> OverflowMenuElement:
    options = [
        Option(value=f"edit:{kind}:{item_id}", text=_("Endre")),
        Option(value=f"delete:{kind}:{item_id}", text=_("Slett")),
    ]
    if kind == "deadline" and occurrence is not None:
        options.insert(
            1,
            Option(
                value=f"done:deadline:{item_id}:{occurrence.isoformat()}",
                text=_("Merk som ferdig"),
            ),
        )
    return OverflowMenuElement(action_id=ITEM_MENU_ACTION, options=options)


def _when(occ: HomeOccurrence, today: date) -> str:
    item = occ.item
    when = date_and_clock(
        occ.start,
        occ.end,
        precision=item.precision,
        note=item.date_note,
        start_time=item.start_time,
        end_time=item.end_time,
        meeting=item.kind == "meeting",
    )
    deadline = item.kind == "deadline"
    away = how_far(occ.start, occ.end, today, deadline=deadline, overdue_mark=":warning: ")
    line = f"{when} · *{away}*"
    if occ.expected:
        line += " · " + _("_forventet dato_")
    return line


def occurrence_section(occ: HomeOccurrence, today: date, *, coordinator: bool) -> SectionBlock:
    item = occ.item
    kind = item.kind
    lines = [f"*{escape(truncate(item.title, TITLE_LIMIT))}*", _when(occ, today)]
    details = []
    if kind == "meeting":
        if item.form in FORM_WORDS:
            details.append(_(FORM_WORDS[MeetingForm(item.form)]))
        if item.place:
            details.append(escape(truncate(item.place, 80)))
    if item.audience:
        details.append(
            _("gjelder %(audience)s") % {"audience": escape(truncate(item.audience, 80))}
        )
    if item.rrule:
        details.append(_("gjentas"))
    if details:
        lines.append(" · ".join(details))
    return SectionBlock(
        block_id=f"item:{kind}:{item.id}:{occ.start.isoformat()}",
        text=MarkdownTextObject(text="\n".join(lines)),
        accessory=item_menu(kind, item.id or 0, occ.start) if coordinator else None,
    )


def undated_section(item: HomeItem, *, coordinator: bool) -> SectionBlock:
    kind = item.kind
    what = _("Frist uten dato") if kind == "deadline" else _("Møte uten dato")
    note = f" – {escape(truncate(item.date_note, 80))}" if item.date_note else ""
    return SectionBlock(
        block_id=f"undated:{kind}:{item.id}",
        text=MarkdownTextObject(
            text=f"*{escape(truncate(item.title, TITLE_LIMIT))}*\n{what}{note}"
        ),
        accessory=item_menu(kind, item.id or 0, None) if coordinator else None,
    )


def _header(text: str) -> HeaderBlock:
    return HeaderBlock(text=text)


def _more_button(section: str, block_id: str) -> ActionsBlock:
    return ActionsBlock(
        block_id=f"{block_id}_more",
        elements=[ButtonElement(text=_("Vis flere"), action_id=HOME_MORE, value=section)],
    )


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def _top(coordinator: bool) -> list[Block]:
    blocks: list[Block] = [_header(_("DKS-boten"))]
    if coordinator:
        blocks.append(
            ActionsBlock(
                block_id=BUTTONS_BLOCK,
                elements=[
                    ButtonElement(
                        text=_("Ny frist"),
                        action_id=HOME_NEW_DEADLINE,
                        value="new",
                        style="primary",
                    ),
                    ButtonElement(text=_("Nytt møte"), action_id=HOME_NEW_MEETING, value="new"),
                    ButtonElement(text=_("Ny kontakt"), action_id=HOME_NEW_CONTACT, value="new"),
                    ButtonElement(text=_("Importer"), action_id=HOME_IMPORT, value="import"),
                    ButtonElement(
                        text=_("Eksporter kalender"), action_id=HOME_EXPORT, value="export"
                    ),
                ],
            )
        )
        blocks.append(
            ActionsBlock(
                block_id=CONTACT_PICK_BLOCK,
                elements=[
                    ExternalDataSelectElement(
                        action_id=HOME_CONTACT_PICK,
                        placeholder=_("Endre en kontakt: skriv navn, rolle eller skole"),
                        min_query_length=1,
                    )
                ],
            )
        )
        blocks.append(
            _context(
                _(
                    "Du er koordinator: du kan legge inn og endre frister, møter, kontakter og "
                    "skoler. Bruk menyen ved hver rad."
                )
            )
        )
    else:
        blocks.append(
            _context(
                _(
                    "Her ser du hva som kommer. Bare koordinatorer kan endre; spør en "
                    "koordinator om du trenger å legge inn noe. Skriv `/dks hjelp` for å søke."
                )
            )
        )
    return blocks


def _reminder_blocks(status: ReminderStatus) -> list[Block]:
    if status.channel_id is None:
        # The command that chooses the channel, as a reader of each language types it.
        text = _(
            ":bell: Ingen kanal er valgt for påminnelser ennå. "
            "Velg en med `/dks påminnelser kanal #kanal`."
        )
    elif status.paused:
        text = _(":bell: Påminnelser til %(channel)s er satt på pause.") % {
            "channel": f"<#{status.channel_id}>"
        }
    else:
        text = _(":bell: Påminnelser går til %(channel)s.") % {"channel": f"<#{status.channel_id}>"}
    return [_header(_("Påminnelser")), SectionBlock(block_id=REMINDERS_BLOCK, text=text)]


def _school_blocks(
    missing: Sequence[tuple[str, str | None]], missing_total: int, total: int
) -> list[Block]:
    if total == 0:
        text = _("Ingen skoler er lagt inn ennå. Importer skolene og kulturkontaktene fra en fil.")
    elif missing_total == 0:
        text = ngettext(
            ":white_check_mark: Den ene skolen har en kulturkontakt.",
            ":white_check_mark: Alle %(n)d skolene har en kulturkontakt.",
            total,
        ) % {"n": total}
    else:
        names = [escape(truncate(name + (f" ({m})" if m else ""), 80)) for name, m in missing]
        rest = missing_total - len(names)
        listed = ", ".join(names)
        if rest > 0:
            listed = _("%(names)s og %(n)d til") % {"names": listed, "n": rest}
        text = ngettext(
            ":warning: *%(missing)d av %(n)d skole* mangler kulturkontakt: %(listed)s.",
            ":warning: *%(missing)d av %(n)d skoler* mangler kulturkontakt: %(listed)s.",
            total,
        ) % {"missing": missing_total, "n": total, "listed": listed}
    return [
        _header(_("Skoler uten kulturkontakt")),
        SectionBlock(
            block_id=SCHOOLS_BLOCK,
            text=MarkdownTextObject(text=truncate(text, 2900)),
            accessory=ButtonElement(text=_("Se skolene"), action_id=HOME_SCHOOLS, value="0"),
        ),
    ]


# --- Serialised once per distinct block (see the module docstring) --------------------------------
# A cache whose blocks hold words the bot writes takes `language` (the one in force, which the
# body writes in) as its first argument: the same block is another dict in another language.
# Those keyed by their text alone (headers, context lines) get it already translated.

JsonBlock = dict[str, Any]


def _json(blocks: Sequence[Block]) -> tuple[JsonBlock, ...]:
    return tuple(block.to_dict() for block in blocks)


@lru_cache(maxsize=16)
def _top_json(language: str, coordinator: bool) -> tuple[JsonBlock, ...]:
    return _json(_top(coordinator))


@lru_cache(maxsize=64)
def _header_json(text: str) -> JsonBlock:
    return _header(text).to_dict()


@lru_cache(maxsize=256)
def _context_json(text: str) -> JsonBlock:
    return _context(text).to_dict()


@lru_cache(maxsize=1)
def _divider_json() -> JsonBlock:
    return DividerBlock().to_dict()


@lru_cache(maxsize=32)
def _more_json(language: str, section: str, block_id: str) -> JsonBlock:
    return _more_button(section, block_id).to_dict()


@lru_cache(maxsize=32)
def _empty_json(block_id: str, text: str) -> JsonBlock:
    return SectionBlock(block_id=block_id, text=text).to_dict()


@lru_cache(maxsize=4096)
def _occurrence_json(
    language: str, occ: HomeOccurrence, today: date, coordinator: bool
) -> JsonBlock:
    return occurrence_section(occ, today, coordinator=coordinator).to_dict()


@lru_cache(maxsize=1024)
def _undated_json(language: str, item: HomeItem, coordinator: bool) -> JsonBlock:
    return undated_section(item, coordinator=coordinator).to_dict()


@lru_cache(maxsize=256)
def _school_json(
    language: str, missing: tuple[tuple[str, str | None], ...], missing_total: int, total: int
) -> tuple[JsonBlock, ...]:
    return _json(_school_blocks(missing, missing_total, total))


@lru_cache(maxsize=256)
def _reminder_json(language: str, status: ReminderStatus) -> tuple[JsonBlock, ...]:
    return _json(_reminder_blocks(status))


def _budget(fixed: int, wanted: tuple[int, int]) -> tuple[int, int]:
    """How many deadlines and meetings fit beside `fixed` blocks; shrink the larger first."""
    room = MAX_BLOCKS - fixed
    deadlines, meetings = wanted
    while deadlines + meetings > room and (deadlines > 1 or meetings > 1):
        if deadlines >= meetings and deadlines > 1:
            deadlines -= 1
        else:
            meetings -= 1
    return deadlines, meetings


def home_view(data: HomeData) -> dict[str, Any]:
    """The Home tab as the JSON `views.publish` takes (what `View.to_dict()` gives)."""
    language = current_language()
    top = _top_json(language, data.coordinator)
    undated: list[JsonBlock] = []
    if data.undated:
        undated.append(_header_json(_("Mangler dato")))
        undated += [_undated_json(language, i, data.coordinator) for i in data.undated]
        rest = data.undated_total - len(data.undated)
        if rest > 0:
            undated.append(
                _context_json(
                    ngettext(
                        "Og %(n)d til uten dato. Skriv `/dks frist` eller `/dks møte` for å "
                        "se den.",
                        "Og %(n)d til uten dato. Skriv `/dks frist` eller `/dks møte` for å "
                        "se dem.",
                        rest,
                    )
                    % {"n": rest}
                )
            )
    # Other features' sections are built per request: they are not ours to remember.
    extra = [list(_json(section)) for section in data.extra_sections if section]
    tail = [
        *_school_json(
            language, tuple(data.schools_missing), data.schools_missing_total, data.schools_total
        ),
        *_reminder_json(language, data.reminders),
    ]
    footer = [_context_json(_("Oppdateres når noe endres. Tidene er norsk tid."))]
    # Everything but the list rows: each list has a divider, a header and a «more» row.
    fixed = (
        len(top)
        + (1 + len(undated) if undated else 0)
        + sum(1 + len(s) for s in extra)
        + 1
        + len(tail)
        + len(footer)
        + 2 * 3
    )
    wanted = (
        max(1, min(len(data.deadlines), data.limits.deadlines)),
        max(1, min(len(data.meetings), data.limits.meetings)),
    )
    n_deadlines, n_meetings = _budget(fixed, wanted)
    blocks: list[JsonBlock] = [*top]
    blocks += _list_blocks(
        data,
        heading=_("Neste frister"),
        section="deadlines",
        block_id=DEADLINES_BLOCK,
        items=data.deadlines[:n_deadlines],
        more=data.deadlines_more or len(data.deadlines) > n_deadlines,
        full=n_deadlines < wanted[0],
        empty=_("Ingen kommende frister med dato."),
        full_text=_("Det er flere. Skriv `/dks frist alle` for å se alle."),
    )
    blocks += _list_blocks(
        data,
        heading=_("Kommende møter"),
        section="meetings",
        block_id=MEETINGS_BLOCK,
        items=data.meetings[:n_meetings],
        more=data.meetings_more or len(data.meetings) > n_meetings,
        full=n_meetings < wanted[1],
        empty=_("Ingen kommende møter med dato."),
        full_text=_("Det er flere. Skriv `/dks møte alle` for å se alle."),
    )
    divider = _divider_json()
    if undated:
        blocks += [divider, *undated]
    for section in extra:
        blocks += [divider, *section]
    blocks += [divider, *tail, *footer]
    shown = HomeLimits(deadlines=n_deadlines, meetings=n_meetings)
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS], "private_metadata": shown.dump()}


def _list_blocks(
    data: HomeData,
    *,
    heading: str,
    section: str,
    block_id: str,
    items: Sequence[HomeOccurrence],
    more: bool,
    full: bool,
    empty: str,
    full_text: str,
) -> list[JsonBlock]:
    """`full_text` points to the command that lists them all, for when the tab is full."""
    language = current_language()
    blocks: list[JsonBlock] = [_divider_json(), _header_json(heading)]
    if items:
        blocks += [_occurrence_json(language, o, data.today, data.coordinator) for o in items]
    else:
        blocks.append(_empty_json(block_id, empty))
    if more and full:
        # The tab is full (Slack allows 100 blocks).
        blocks.append(_context_json(full_text))
    elif more:
        blocks.append(_more_json(language, section, block_id))
    return blocks


def fallback_blocks(text: str) -> View:
    """What the Home tab shows when reading the data failed: say so, never a blank tab."""
    return View(
        type="home",
        blocks=[_header(_("DKS-boten")), SectionBlock(text=MarkdownTextObject(text=text))],
    )
