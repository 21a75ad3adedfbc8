"""Block Kit for feedback outside the form: the prompt, the thanks, the summary, the Home
section. Pure functions of data; the ids are shared with the listeners and the tests."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from handlers.core.commands import COMMAND
from handlers.core.format import day_text, decimal_text, escape, klokkeslett, percent_text, truncate
from handlers.core.values import row_id
from storage.feedback import (
    MISSING_COUNT_CAP,
    QUESTION_KEYS,
    QUESTION_LABELS,
    AnswerComments,
    MissingFeedback,
    ProductionSummary,
    Totals,
)
from storage.tourplan import PerformanceInfo

# --- ids ---------------------------------------------------------------------------------------

# «Gi tilbakemelding» / «Endre svaret»; where several share a block, each gets a `_<n>` suffix.
FEEDBACK_OPEN_ACTION = "feedback_open"
OPEN_ACTION_PATTERN = re.compile(rf"^{FEEDBACK_OPEN_ACTION}(_\d+)?$")
THANKS_CALLBACK_ID = "feedback_thanks"
PROMPT_BLOCK = "feedback_prompt"
SUMMARY_EXPORT_BLOCK = "feedback_export"
EXPORT_CSV_ACTION = "feedback_export_csv"
EXPORT_XLSX_ACTION = "feedback_export_xlsx"
EXPORT_ACTIONS = re.compile(rf"^(?:{EXPORT_CSV_ACTION}|{EXPORT_XLSX_ACTION})$")
EXPORT_ALL = "alle"
MISSING_BLOCK = "home_missing_feedback"


def performance_value(performance_id: int) -> str:
    return str(performance_id)


def parse_performance_value(value: str | None) -> int | None:
    return row_id(value)


# --- dates and numbers -------------------------------------------------------------------------


def when_text(moment: datetime, tz: ZoneInfo, *, end: datetime | None = None) -> str:
    local = moment.astimezone(tz)
    text = f"{day_text(local.date())} kl. {klokkeslett(local)}"
    if end is not None:
        text += f"–{klokkeslett(end.astimezone(tz))}"
    return text


def number(value: float) -> str:
    return decimal_text(round(value, 1))


def percent(value: float) -> str:
    return percent_text(value)


# --- the prompt --------------------------------------------------------------------------------


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
    when = "i dag" if now.astimezone(tz).date() == day else day_text(day)
    title, school = escape(performance.title), escape(performance.school)
    question = f"Hvordan gikk «{title}» på {school} {when}?"
    if followup:
        text = f"Påminnelse: {question} Svaret ditt hjelper kommunen å velge gode produksjoner."
    else:
        text = f"{question} Det tar omtrent ett minutt å svare."
    blocks: list[Block] = [
        SectionBlock(block_id=PROMPT_BLOCK + "_text", text=MarkdownTextObject(text=text)),
        _performance_context(performance, tz),
        ActionsBlock(block_id=PROMPT_BLOCK, elements=[_open_button(performance.id)]),
    ]
    return text, blocks


# --- after sending, and when the form cannot be shown ------------------------------------------


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
        f"({escape(performance.school)}, "
        f"{day_text(performance.starts_at.astimezone(tz).date())}) er {stored}."
    ]
    if anonymous:
        lines.append("Svaret er anonymt: koordinatorene ser ikke hvem som sendte det.")
    until = day_text(edit_until.astimezone(tz).date())
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text="\n".join(lines))),
        ContextBlock(
            elements=[MarkdownTextObject(text=f"Du kan endre svaret til og med {until}.")]
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


PERFORMANCE_GONE = (
    "Jeg finner ikke denne forestillingen lenger. Den kan være fjernet fra turneplanen. "
    f"Skriv `{COMMAND} tilbakemelding` for å velge en annen."
)
OPEN_FAILED = (
    f"Jeg fikk ikke åpnet skjemaet. Trykk på knappen igjen, eller skriv `{COMMAND} tilbakemelding`."
)
EXPORT_FAILED = (
    "Jeg fikk ikke laget eller sendt filen. Prøv igjen om litt, eller be den som "
    "drifter boten kjøre `dks-bot export tilbakemeldinger`."
)
USAGE = (
    f"Skriv `{COMMAND} tilbakemelding` for å gi tilbakemelding på en forestilling, eller "
    f"`{COMMAND} tilbakemelding oppsummering [produksjon]` for å se resultatene."
)


def cancelled_text(performance: PerformanceInfo, tz: ZoneInfo) -> str:
    return (
        f"«{escape(performance.title)}» på {escape(performance.school)} "
        f"{when_text(performance.starts_at, tz)} er avlyst, så den trenger ingen tilbakemelding."
    )


def export_sent_text(count: int) -> str:
    return f"Filen med {count} svar ligger i en direktemelding fra meg."


def export_comment(count: int) -> str:
    return (
        f"Her er tilbakemeldingene ({count} svar), én rad per svar. Ratingene går "
        "fra 1 (ikke bra) til 5 (svært bra)."
    )


def plain_section(text: str) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=text))]


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
    day = day_text(item.starts_at.astimezone(tz).date())
    lines.append(f"— {who}, {escape(item.school)}, {day}")
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


def export_production(value: str | None) -> int | None:
    """The production an export button's value names; None for every production."""
    return row_id(value or EXPORT_ALL)


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


# --- the Home tab's «Tilbakemeldinger som mangler» ---------------------------------------------


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
