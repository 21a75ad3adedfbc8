"""Block Kit for feedback: the modal, its type-ahead options, the prompt, the summary.

Pure functions of data. The ids are constants shared with the listeners and the tests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal, format_percent
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DividerBlock,
    ExternalDataSelectElement,
    HeaderBlock,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from handlers.core.format import LOCALE, escape, klokkeslett, norsk_dato, truncate
from storage.feedback import (
    MAX_COMMENT,
    MAX_FREE_COMMENT,
    MAX_PUPILS_ATTENDED,
    MISSING_COUNT_CAP,
    QUESTION_KEYS,
    QUESTION_LABELS,
    RATING_SCALE,
    RATING_WORDS,
    AnswerComments,
    MissingFeedback,
    ProductionSummary,
    Totals,
)
from storage.models import FeedbackAnswer, PupilHosts
from storage.tourplan import Choice, PerformanceIndex, PerformanceInfo

# --- ids ---------------------------------------------------------------------------------------

FEEDBACK_CALLBACK_ID = "feedback_modal"
THANKS_CALLBACK_ID = "feedback_thanks"
FEEDBACK_OPEN_ACTION = "feedback_open"  # «Gi tilbakemelding» / «Endre svaret» buttons
PERFORMANCE_BLOCK = "performance"
PERFORMANCE_ACTION = "feedback_performance"
RATING_BLOCKS = {q: f"rating_{q}" for q in QUESTION_KEYS}
RATING_ACTIONS = {q: f"feedback_rating_{q}" for q in QUESTION_KEYS}
COMMENT_BLOCKS = {q: f"comment_{q}" for q in QUESTION_KEYS}
COMMENT_ACTIONS = {q: f"feedback_comment_{q}" for q in QUESTION_KEYS}
PUPIL_HOSTS_BLOCK = "pupil_hosts"
PUPIL_HOSTS_ACTION = "feedback_pupil_hosts"
PUPILS_BLOCK = "pupils_attended"
PUPILS_ACTION = "feedback_pupils_attended"
FREE_COMMENT_BLOCK = "free_comment"
FREE_COMMENT_ACTION = "feedback_free_comment"
ANONYMOUS_BLOCK = "anonymous"
ANONYMOUS_ACTION = "feedback_anonymous"
ANONYMOUS_VALUE = "anonymous"
EDIT_LIST_BLOCK = "feedback_editable"
PROMPT_BLOCK = "feedback_prompt"
SUMMARY_EXPORT_BLOCK = "feedback_export"
EXPORT_CSV_ACTION = "feedback_export_csv"
EXPORT_XLSX_ACTION = "feedback_export_xlsx"
EXPORT_ALL = "alle"

QUESTION_HINTS = {
    "overall": "Hvordan var forestillingen alt i alt?",
    "artistic": "Håndverk, formidling og kunstnerisk uttrykk.",
    "relevance": "Passet den for alderstrinnet, og kunne den knyttes til fag og læreplan?",
    "pupils": "Var elevene engasjerte, fikk de delta, snakket de om det etterpå?",
    "practical": "Ankomst, lokale, tidsplan og informasjon på forhånd.",
}
PUPIL_HOSTS_WORDS = {PupilHosts.YES: "Ja", PupilHosts.NO: "Nei", PupilHosts.UNKNOWN: "Vet ikke"}
OPTION_TEXT_LIMIT = 75  # Slack's limit for an option's text
ANONYMOUS_EXPLAINED = (
    "Anonymt betyr at koordinatorene ikke ser hvem som svarte, og at navnet ditt ikke lagres "
    "sammen med svaret. I 14 dager kan boten likevel kjenne deg igjen (med en kode laget av "
    "Slack-id-en din), slik at du kan endre svaret. Etter 14 dager slettes koden, og da vet "
    "heller ikke boten hvem som svarte."
)


# --- dates -------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _day(day: date) -> str:
    return norsk_dato(day)


def when_text(moment: datetime, tz: ZoneInfo, *, end: datetime | None = None) -> str:
    local = moment.astimezone(tz)
    text = f"{_day(local.date())} kl. {klokkeslett(local)}"
    if end is not None:
        text += f"–{klokkeslett(end.astimezone(tz))}"
    return text


def number(value: float) -> str:
    return format_decimal(round(value, 1), format="#,##0.0", locale=LOCALE)


def percent(value: float) -> str:
    return format_percent(value, locale=LOCALE)


# --- type-ahead --------------------------------------------------------------------------------


def option_label(choice: Choice, tz: ZoneInfo) -> str:
    """«produksjon – skole – dato» within Slack's 75 characters; the time when a school had
    the same production twice that day."""
    local = choice.starts_at.astimezone(tz)
    when = _day(local.date())
    if choice.needs_time:
        when += f" kl. {klokkeslett(local)}"
    title, school = choice.title, choice.school
    room = OPTION_TEXT_LIMIT - len(when) - 6
    if len(title) + len(school) > room:
        school = truncate(school, max(room - len(title), min(len(school), 24)))
        title = truncate(title, room - len(school))
    return f"{title} – {school} – {when}"


def performance_value(performance_id: int) -> str:
    return str(performance_id)


def parse_performance_value(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def option_dict(choice: Choice, tz: ZoneInfo) -> dict[str, Any]:
    """What `Option(...).to_dict()` gives for a type-ahead choice (the tests compare them)."""
    return {
        "text": {"type": "plain_text", "text": option_label(choice, tz), "emoji": True},
        "value": performance_value(choice.performance_id),
    }


def performance_options_json(index: PerformanceIndex, rows: Sequence[int], tz: ZoneInfo) -> str:
    """The JSON body of a block_suggestion ack: `{"options": [...]}` for `rows` of `index`.

    This runs on every keystroke. Each option is rendered and serialised once per row and
    version of the index (kept by the index), so an answer only joins ready strings: building
    and serialising 100 options anew each time cost more than finding them.
    """
    parts = index.rendered(
        rows,
        ("option", tz),
        lambda c: json.dumps(option_dict(c, tz), ensure_ascii=False, separators=(",", ":")),
    )
    return '{"options":[' + ",".join(parts) + "]}"


def performance_option(performance: PerformanceInfo, tz: ZoneInfo) -> Option:
    choice = Choice(
        performance.id, performance.title, performance.school, performance.starts_at, False
    )
    return Option(text=option_label(choice, tz), value=performance_value(performance.id))


# --- the modal ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metadata:
    """What the modal carries in `private_metadata`."""

    performance_id: int | None = None

    def dump(self) -> str:
        return json.dumps({"p": self.performance_id})

    @classmethod
    def load(cls, raw: str | None) -> Metadata:
        try:
            data = json.loads(raw or "{}")
        except ValueError:
            return cls()
        performance_id = data.get("p") if isinstance(data, dict) else None
        return cls(performance_id if isinstance(performance_id, int) else None)


def _rating_options() -> list[Option]:
    return [Option(text=word, value=str(value)) for value, word in RATING_SCALE]


def _rating_option(value: int | None) -> Option | None:
    if value is None or value not in RATING_WORDS:
        return None
    return Option(text=RATING_WORDS[value], value=str(value))


def _pupil_host_options() -> list[Option]:
    return [Option(text=word, value=value.value) for value, word in PUPIL_HOSTS_WORDS.items()]


def _anonymous_option() -> Option:
    return Option(
        text="Send anonymt",
        value=ANONYMOUS_VALUE,
        description="Koordinatorene ser ikke hvem som svarte.",
    )


@dataclass(frozen=True)
class EditableAnswer:
    performance_id: int
    title: str
    starts_at: datetime


def feedback_modal(
    *,
    tz: ZoneInfo,
    performance: PerformanceInfo | None = None,
    existing: FeedbackAnswer | None = None,
    editable: Sequence[EditableAnswer] = (),
) -> View:
    """The feedback form: empty, prefilled with a performance, or with the sender's answer."""
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text="Det tar omtrent ett minutt. Svarene brukes i kommunens evaluering av "
                "DKS-produksjonene og i årsrapporten til fylket."
            )
        )
    ]
    if editable and performance is None:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="*Svar du fortsatt kan endre:*")))
        blocks.append(
            ActionsBlock(
                block_id=EDIT_LIST_BLOCK,
                elements=[
                    ButtonElement(
                        text=truncate(f"{e.title} – {_day(e.starts_at.astimezone(tz).date())}", 75),
                        action_id=f"{FEEDBACK_OPEN_ACTION}_{i}",
                        value=performance_value(e.performance_id),
                    )
                    for i, e in enumerate(editable[:5])
                ],
            )
        )
    select = ExternalDataSelectElement(
        action_id=PERFORMANCE_ACTION,
        placeholder="Søk på produksjon, skole eller dato",
        min_query_length=0,
        initial_option=performance_option(performance, tz) if performance else None,
    )
    blocks.append(
        InputBlock(
            block_id=PERFORMANCE_BLOCK,
            label="Forestilling",
            element=select,
            hint="Nyeste først. Skriv for eksempel navnet på produksjonen, skolen eller datoen.",
        )
    )
    if existing is not None:
        until = existing.edit_until
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f":pencil2: Du endrer svaret du sendte "
                        f"{_day(existing.created_at.astimezone(tz).date())}. Du kan endre det "
                        f"til og med {_day((until.astimezone(tz)).date())}."
                    )
                ]
            )
        )
    for question in QUESTION_KEYS:
        rating = getattr(existing, f"rating_{question}", None) if existing else None
        comment = getattr(existing, f"comment_{question}", None) if existing else None
        blocks.append(
            InputBlock(
                block_id=RATING_BLOCKS[question],
                label=QUESTION_LABELS[question],
                hint=QUESTION_HINTS[question],
                element=RadioButtonsElement(
                    action_id=RATING_ACTIONS[question],
                    options=_rating_options(),
                    initial_option=_rating_option(rating),
                ),
            )
        )
        blocks.append(
            InputBlock(
                block_id=COMMENT_BLOCKS[question],
                label=f"Kommentar til «{QUESTION_LABELS[question].lower()}»",
                optional=True,
                element=PlainTextInputElement(
                    action_id=COMMENT_ACTIONS[question],
                    multiline=True,
                    max_length=MAX_COMMENT,
                    initial_value=comment or None,
                ),
            )
        )
    hosts = existing.pupil_hosts if existing else None
    blocks.append(
        InputBlock(
            block_id=PUPIL_HOSTS_BLOCK,
            label="Var elevarrangører med?",
            hint="Elevarrangører tar imot utøverne og hjelper til før og under forestillingen.",
            optional=True,
            element=RadioButtonsElement(
                action_id=PUPIL_HOSTS_ACTION,
                options=_pupil_host_options(),
                initial_option=(
                    Option(text=PUPIL_HOSTS_WORDS[PupilHosts(hosts)], value=hosts)
                    if hosts in {h.value for h in PupilHosts}
                    else None
                ),
            ),
        )
    )
    attended = existing.pupils_attended if existing else None
    blocks.append(
        InputBlock(
            block_id=PUPILS_BLOCK,
            label="Hvor mange elever var til stede?",
            hint=f"Et helt tall fra 0 til {MAX_PUPILS_ATTENDED}.",
            optional=True,
            element=NumberInputElement(
                action_id=PUPILS_ACTION,
                is_decimal_allowed=False,
                initial_value=str(attended) if attended is not None else None,
            ),
        )
    )
    blocks.append(
        InputBlock(
            block_id=FREE_COMMENT_BLOCK,
            label="Andre kommentarer",
            optional=True,
            element=PlainTextInputElement(
                action_id=FREE_COMMENT_ACTION,
                multiline=True,
                max_length=MAX_FREE_COMMENT,
                initial_value=(existing.free_comment if existing else None) or None,
            ),
        )
    )
    anonymous = _anonymous_option()
    blocks.append(
        InputBlock(
            block_id=ANONYMOUS_BLOCK,
            label="Anonymitet",
            optional=True,
            hint=ANONYMOUS_EXPLAINED,
            element=CheckboxesElement(
                action_id=ANONYMOUS_ACTION,
                options=[anonymous],
                initial_options=[anonymous]
                if existing is not None and existing.anonymous
                else None,
            ),
        )
    )
    return View(
        type="modal",
        callback_id=FEEDBACK_CALLBACK_ID,
        title="Tilbakemelding",
        submit="Send",
        close="Avbryt",
        private_metadata=Metadata(performance.id if performance else None).dump(),
        blocks=blocks,
    )


def thanks_view(
    *,
    performance: PerformanceInfo,
    tz: ZoneInfo,
    edit_until: datetime,
    anonymous: bool,
    created: bool,
) -> View:
    stored = "lagret" if created else "oppdatert"
    lines = [
        f":white_check_mark: Takk! Svaret ditt om *{escape(performance.title)}* "
        f"({escape(performance.school)}, {_day(performance.starts_at.astimezone(tz).date())}) "
        f"er {stored}."
    ]
    if anonymous:
        lines.append("Svaret er anonymt: koordinatorene ser ikke hvem som sendte det.")
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text="\n".join(lines))),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Du kan endre svaret til og med {_day(edit_until.astimezone(tz).date())}."
                )
            ]
        ),
        ActionsBlock(
            block_id=PROMPT_BLOCK,
            elements=[
                ButtonElement(
                    text="Endre svaret",
                    action_id=FEEDBACK_OPEN_ACTION,
                    value=performance_value(performance.id),
                )
            ],
        ),
    ]
    return View(
        type="modal",
        callback_id=THANKS_CALLBACK_ID,
        title="Takk!",
        close="Lukk",
        blocks=blocks,
    )


def notice_view(text: str) -> View:
    """A modal with one message, for when the form cannot be shown."""
    return View(
        type="modal",
        callback_id=THANKS_CALLBACK_ID,
        title="Tilbakemelding",
        close="Lukk",
        blocks=[SectionBlock(text=MarkdownTextObject(text=text))],
    )


# --- reading a submission ------------------------------------------------------------------------


@dataclass
class FormData:
    performance_id: int | None
    ratings: dict[str, int] = field(default_factory=dict)
    comments: dict[str, str | None] = field(default_factory=dict)
    pupil_hosts: str | None = None
    pupils_attended: int | None = None
    free_comment: str | None = None
    anonymous: bool = False


def _value(values: Mapping[str, Any], block: str, action: str) -> dict[str, Any]:
    found = values.get(block, {}).get(action)
    return found if isinstance(found, dict) else {}


def _selected(values: Mapping[str, Any], block: str, action: str) -> str | None:
    option = _value(values, block, action).get("selected_option")
    return option.get("value") if isinstance(option, dict) else None


def _text(values: Mapping[str, Any], block: str, action: str) -> str | None:
    raw = _value(values, block, action).get("value")
    if not isinstance(raw, str):
        return None
    return raw.strip() or None


def read_form(view: Mapping[str, Any]) -> tuple[FormData, dict[str, str]]:
    """Field values and field-level errors, keyed by input block_id, from a submitted view."""
    values = view.get("state", {}).get("values", {})
    errors: dict[str, str] = {}
    selected = _selected(values, PERFORMANCE_BLOCK, PERFORMANCE_ACTION)
    performance_id = parse_performance_value(selected)
    if performance_id is None:
        performance_id = Metadata.load(view.get("private_metadata")).performance_id
        if selected is not None or performance_id is None:
            errors[PERFORMANCE_BLOCK] = "Velg forestillingen du gir tilbakemelding på."
            performance_id = None
    form = FormData(performance_id=performance_id)
    for question in QUESTION_KEYS:
        raw = _selected(values, RATING_BLOCKS[question], RATING_ACTIONS[question])
        if raw is None or not raw.isdigit() or int(raw) not in RATING_WORDS:
            errors[RATING_BLOCKS[question]] = "Velg et svar fra «svært bra» til «ikke bra»."
        else:
            form.ratings[question] = int(raw)
        comment = _text(values, COMMENT_BLOCKS[question], COMMENT_ACTIONS[question])
        if comment is not None and len(comment) > MAX_COMMENT:
            errors[COMMENT_BLOCKS[question]] = (
                f"Kommentaren er {len(comment)} tegn. Kort den ned til høyst {MAX_COMMENT} tegn."
            )
        form.comments[question] = comment
    hosts = _selected(values, PUPIL_HOSTS_BLOCK, PUPIL_HOSTS_ACTION)
    if hosts is not None and hosts not in {h.value for h in PupilHosts}:
        errors[PUPIL_HOSTS_BLOCK] = "Velg ja, nei eller vet ikke."
    else:
        form.pupil_hosts = hosts
    pupils = _text(values, PUPILS_BLOCK, PUPILS_ACTION)
    if pupils is not None:
        digits = pupils.replace(" ", "").replace("\u00a0", "")
        if not digits.isdigit() or int(digits) > MAX_PUPILS_ATTENDED:
            errors[PUPILS_BLOCK] = (
                f"Skriv antall elever som et helt tall fra 0 til {MAX_PUPILS_ATTENDED} "
                f"(du skrev «{truncate(pupils, 20)}»)."
            )
        else:
            form.pupils_attended = int(digits)
    free = _text(values, FREE_COMMENT_BLOCK, FREE_COMMENT_ACTION)
    if free is not None and len(free) > MAX_FREE_COMMENT:
        errors[FREE_COMMENT_BLOCK] = (
            f"Kommentaren er {len(free)} tegn. Kort den ned til høyst {MAX_FREE_COMMENT} tegn."
        )
    form.free_comment = free
    chosen = _value(values, ANONYMOUS_BLOCK, ANONYMOUS_ACTION).get("selected_options") or []
    form.anonymous = any(isinstance(o, dict) and o.get("value") == ANONYMOUS_VALUE for o in chosen)
    return form, errors


# --- messages ----------------------------------------------------------------------------------


def _open_button(performance_id: int) -> ButtonElement:
    return ButtonElement(
        text="Gi tilbakemelding",
        action_id=FEEDBACK_OPEN_ACTION,
        value=performance_value(performance_id),
        style="primary",
    )


def _performance_context(performance: PerformanceInfo, tz: ZoneInfo) -> ContextBlock:
    parts = [when_text(performance.starts_at, tz, end=performance.ends_at)]
    if performance.venue:
        parts.append(escape(performance.venue))
    if performance.grade_levels:
        parts.append(f"{escape(performance.grade_levels)} trinn")
    return ContextBlock(elements=[MarkdownTextObject(text=" · ".join(parts))])


def prompt_blocks(
    performance: PerformanceInfo, tz: ZoneInfo, *, now: datetime, followup: int = 0
) -> tuple[str, list[Block]]:
    """The message that asks for feedback (text, blocks): right after the performance, or a
    follow-up some working days later."""
    day = performance.starts_at.astimezone(tz).date()
    when = "i dag" if now.astimezone(tz).date() == day else _day(day)
    question = f"Hvordan gikk «{performance.title}» på {performance.school} {when}?"
    if followup:
        text = f"Påminnelse: {question} Svaret ditt hjelper kommunen å velge gode produksjoner."
    else:
        text = f"{question} Det tar omtrent ett minutt å svare."
    blocks: list[Block] = [
        SectionBlock(block_id=PROMPT_BLOCK + "_text", text=MarkdownTextObject(text=escape(text))),
        _performance_context(performance, tz),
        ActionsBlock(block_id=PROMPT_BLOCK, elements=[_open_button(performance.id)]),
    ]
    return text, blocks


# --- the summary -------------------------------------------------------------------------------


def _rate_line(summary: ProductionSummary) -> str:
    answers = "1 svar" if summary.answers == 1 else f"{summary.answers} svar"
    held = summary.held_performances
    if not held:
        return f"{answers} · ingen forestillinger holdt ennå"
    rate = summary.response_rate or 0.0
    shows = "forestilling" if held == 1 else "forestillinger"
    return (
        f"{answers} · svar fra {summary.answered_performances} av {held} holdte {shows} "
        f"({percent(rate)})"
    )


def _averages_line(summary: ProductionSummary) -> str:
    parts = []
    for question in QUESTION_KEYS:
        value = summary.averages.get(question)
        if value is not None:
            parts.append(f"{QUESTION_LABELS[question]}: *{number(value)}*")
    return " · ".join(parts) if parts else "Ingen svar ennå."


def summary_section(summary: ProductionSummary) -> SectionBlock:
    text = (
        f"*{escape(truncate(summary.title, 150))}* ({escape(summary.art_form)})\n"
        f"{_rate_line(summary)}\n{_averages_line(summary)}"
    )
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000)))


def _comment_block(item: AnswerComments, tz: ZoneInfo) -> SectionBlock:
    who = "anonym" if item.anonymous or not item.user_id else f"<@{item.user_id}>"
    lines = []
    for comment in item.comments:
        label = QUESTION_LABELS[comment.question] if comment.question else "Andre kommentarer"
        lines.append(f"_{label}:_ «{escape(truncate(comment.text, 400))}»")
    lines.append(f"— {who}, {escape(item.school)}, {_day(item.starts_at.astimezone(tz).date())}")
    return SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), 3000)))


def export_buttons(production_id: int | None) -> ActionsBlock:
    value = str(production_id) if production_id is not None else EXPORT_ALL
    return ActionsBlock(
        block_id=SUMMARY_EXPORT_BLOCK,
        elements=[
            ButtonElement(text="Last ned som Excel", action_id=EXPORT_XLSX_ACTION, value=value),
            ButtonElement(text="Last ned som CSV", action_id=EXPORT_CSV_ACTION, value=value),
        ],
    )


SCALE_NOTE = "Snitt på en skala fra 1 (ikke bra) til 5 (svært bra)."


def summary_blocks(
    *,
    heading: str,
    summaries: Sequence[ProductionSummary],
    tz: ZoneInfo,
    intro: str | None = None,
    comments: Sequence[AnswerComments] = (),
    coordinator: bool,
    export_production: int | None = None,
    footer: str | None = None,
) -> list[Block]:
    blocks: list[Block] = [HeaderBlock(text=truncate(heading, 150))]
    if intro:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(intro, 3000))))
    for summary in summaries[:10]:
        blocks.append(summary_section(summary))
    if comments and coordinator:
        blocks.append(DividerBlock())
        blocks.append(SectionBlock(text=MarkdownTextObject(text="*Siste kommentarer*")))
        for item in comments[:5]:
            blocks.append(_comment_block(item, tz))
    notes = [SCALE_NOTE]
    if not coordinator:
        notes.append("Bare koordinatorer ser kommentarene.")
    if footer:
        notes.append(footer)
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=" ".join(notes))]))
    if coordinator and summaries:
        blocks.append(export_buttons(export_production))
    return blocks


def totals_intro(totals: Totals) -> str:
    answers = "1 svar" if totals.answers == 1 else f"{totals.answers} svar"
    if not totals.held_performances:
        return f"{answers} i alt."
    rate = min(1.0, totals.answered_performances / totals.held_performances)
    return (
        f"{answers} i alt, fra {totals.answered_performances} av {totals.held_performances} "
        f"holdte forestillinger ({percent(rate)})."
    )


def plain_section(text: str) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=text))]


def usage_text() -> str:
    return (
        "Skriv `/dks tilbakemelding` for å gi tilbakemelding på en forestilling, eller "
        "`/dks tilbakemelding oppsummering [produksjon]` for å se resultatene."
    )


# --- the Home tab's «Tilbakemeldinger som mangler» ------------------------------------------------

MISSING_BLOCK = "home_missing_feedback"


def missing_feedback_blocks(
    rows: Sequence[MissingFeedback], total: int, *, days: int, tz: ZoneInfo
) -> list[Block]:
    """Performances of the last `days` days that nobody has answered for, each with its
    «Gi tilbakemelding» button; nothing when there are none (the Home tab leaves it out)."""
    if not rows:
        return []
    blocks: list[Block] = [HeaderBlock(text="Tilbakemeldinger som mangler")]
    for i, row in enumerate(rows):
        text = (
            f"*{escape(truncate(row.production, 150))}*\n{escape(truncate(row.school, 150))}"
            f" · {when_text(row.starts_at, tz, end=row.ends_at)}"
        )
        blocks.append(
            SectionBlock(
                block_id=f"{MISSING_BLOCK}_{i}",
                text=MarkdownTextObject(text=text),
                accessory=ButtonElement(
                    text="Gi tilbakemelding",
                    action_id=f"{FEEDBACK_OPEN_ACTION}_{i}",
                    value=performance_value(row.performance_id),
                ),
            )
        )
    # The count stops just past MISSING_COUNT_CAP: beyond it, say «over 100».
    counted = f"over {MISSING_COUNT_CAP}" if total > MISSING_COUNT_CAP else f"{total}"
    shown = f"Viser {len(rows)} av {counted}" if total > len(rows) else counted
    noun = "forestilling" if total == 1 else "forestillinger"
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"{shown} {noun} fra de siste {days} dagene uten tilbakemelding. "
                    "Alle som var der, kan svare – det tar et minutt."
                )
            ]
        )
    )
    return blocks
