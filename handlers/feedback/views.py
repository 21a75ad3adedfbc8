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

from handlers.core.format import day_text, decimal_text, escape, klokkeslett, percent_text, truncate
from handlers.core.i18n import N_, _, ngettext
from handlers.core.values import row_id
from storage.feedback import (
    ART_FORM_WORDS,
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

OTHER_COMMENTS = N_("Andre kommentarer")


def performance_value(performance_id: int) -> str:
    return str(performance_id)


def parse_performance_value(value: str | None) -> int | None:
    return row_id(value)


# --- dates and numbers -------------------------------------------------------------------------


def when_text(moment: datetime, tz: ZoneInfo, *, end: datetime | None = None) -> str:
    """«24. november 2026 kl. 08:30–09:40»."""
    local = moment.astimezone(tz)
    clock = klokkeslett(local)
    if end is not None:
        clock += f"–{klokkeslett(end.astimezone(tz))}"
    return _("%(when)s kl. %(time)s") % {"when": day_text(local.date()), "time": clock}


def number(value: float) -> str:
    return decimal_text(round(value, 1))


def percent(value: float) -> str:
    return percent_text(value)


# --- the prompt --------------------------------------------------------------------------------


def _open_button(performance_id: int) -> ButtonElement:
    return ButtonElement(
        text=_("Gi tilbakemelding"),
        action_id=FEEDBACK_OPEN_ACTION,
        value=performance_value(performance_id),
        style="primary",
    )


def _performance_context(performance: PerformanceInfo, tz: ZoneInfo) -> ContextBlock:
    parts = [when_text(performance.starts_at, tz, end=performance.ends_at)]
    if performance.venue:
        parts.append(escape(performance.venue))
    if performance.grade_levels:
        parts.append(_("%(grades)s trinn") % {"grades": escape(performance.grade_levels)})
    return ContextBlock(elements=[MarkdownTextObject(text=" · ".join(parts))])


def prompt_blocks(
    performance: PerformanceInfo, tz: ZoneInfo, *, now: datetime, followup: int = 0
) -> tuple[str, list[Block]]:
    """The message that asks for feedback (text, blocks): right after the performance, or a
    follow-up some working days later."""
    day = performance.starts_at.astimezone(tz).date()
    names = {"title": escape(performance.title), "school": escape(performance.school)}
    if now.astimezone(tz).date() == day:
        question = _("Hvordan gikk «%(title)s» på %(school)s i dag?") % names
    else:
        question = _("Hvordan gikk «%(title)s» på %(school)s %(day)s?") % {
            **names,
            "day": day_text(day),
        }
    if followup:
        text = _(
            "Påminnelse: %(question)s Svaret ditt hjelper kommunen å velge gode produksjoner."
        ) % {"question": question}
    else:
        text = _("%(question)s Det tar omtrent ett minutt å svare.") % {"question": question}
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
    about = {
        "title": escape(performance.title),
        "school": escape(performance.school),
        "day": day_text(performance.starts_at.astimezone(tz).date()),
    }
    if created:
        thanks = _(
            ":white_check_mark: Takk! Svaret ditt om *%(title)s* (%(school)s, %(day)s) er lagret."
        )
    else:
        thanks = _(
            ":white_check_mark: Takk! Svaret ditt om *%(title)s* (%(school)s, %(day)s) "
            "er oppdatert."
        )
    lines = [thanks % about]
    if anonymous:
        lines.append(_("Svaret er anonymt: koordinatorene ser ikke hvem som sendte det."))
    until = day_text(edit_until.astimezone(tz).date())
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text="\n".join(lines))),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=_("Du kan endre svaret til og med %(day)s.") % {"day": until}
                )
            ]
        ),
        ActionsBlock(
            block_id=PROMPT_BLOCK,
            elements=[
                ButtonElement(
                    text=_("Endre svaret"),
                    action_id=FEEDBACK_OPEN_ACTION,
                    value=performance_value(performance.id),
                )
            ],
        ),
    ]
    return View(
        type="modal",
        callback_id=THANKS_CALLBACK_ID,
        title=_("Takk!"),
        close=_("Lukk"),
        blocks=blocks,
    )


# Bokmål messages, translated where shown: `_(PERFORMANCE_GONE)`.
PERFORMANCE_GONE = N_(
    "Jeg finner ikke denne forestillingen lenger. Den kan være fjernet fra turneplanen. "
    "Skriv `/dks tilbakemelding` for å velge en annen."
)
OPEN_FAILED = N_(
    "Jeg fikk ikke åpnet skjemaet. Trykk på knappen igjen, eller skriv `/dks tilbakemelding`."
)
USAGE = N_(
    "Skriv `/dks tilbakemelding` for å gi tilbakemelding på en forestilling, eller "
    "`/dks tilbakemelding oppsummering [produksjon]` for å se resultatene."
)


def cancelled_text(performance: PerformanceInfo, tz: ZoneInfo) -> str:
    return _(
        "«%(title)s» på %(school)s %(when)s er avlyst, så den trenger ingen tilbakemelding."
    ) % {
        "title": escape(performance.title),
        "school": escape(performance.school),
        "when": when_text(performance.starts_at, tz),
    }


def answers_text(count: int) -> str:
    """«1 svar», «2 svar» (English «1 answer», «2 answers»)."""
    return ngettext("%(n)d svar", "%(n)d svar", count) % {"n": count}


def export_sent_text(count: int) -> str:
    return ngettext(
        "Filen med %(n)d svar ligger i en direktemelding fra meg.",
        "Filen med %(n)d svar ligger i en direktemelding fra meg.",
        count,
    ) % {"n": count}


def export_comment(count: int) -> str:
    return ngettext(
        "Her er tilbakemeldingene (%(n)d svar), én rad per svar. Ratingene går fra 1 (ikke bra) "
        "til 5 (svært bra).",
        "Her er tilbakemeldingene (%(n)d svar), én rad per svar. Ratingene går fra 1 (ikke bra) "
        "til 5 (svært bra).",
        count,
    ) % {"n": count}


def plain_section(text: str) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=text))]


# --- the summary -------------------------------------------------------------------------------


def _rate_line(summary: ProductionSummary) -> str:
    answers = answers_text(summary.answers)
    held = summary.held_performances
    if not held:
        none = _("ingen forestillinger holdt ennå")
        return f"{answers} · {none}"
    # The number of performances held governs the noun and its participle: «av 1 holdt
    # forestilling», «av 5 holdte forestillinger».
    rate = ngettext(
        "svar fra %(answered)d av %(held)d holdt forestilling (%(rate)s)",
        "svar fra %(answered)d av %(held)d holdte forestillinger (%(rate)s)",
        held,
    ) % {
        "answered": summary.answered_performances,
        "held": held,
        "rate": percent(summary.response_rate or 0.0),
    }
    return f"{answers} · {rate}"


def _averages_line(summary: ProductionSummary) -> str:
    parts = []
    for question in QUESTION_KEYS:
        value = summary.averages.get(question)
        if value is not None:
            parts.append(f"{_(QUESTION_LABELS[question])}: *{number(value)}*")
    return " · ".join(parts) if parts else _("Ingen svar ennå.")


def art_form_text(art_form: str) -> str:
    """One of DKS's art forms in the reader's language (anything else as the plan has it)."""
    word = ART_FORM_WORDS.get(art_form)
    return _(word) if word else art_form


def summary_section(summary: ProductionSummary) -> SectionBlock:
    text = (
        f"*{escape(truncate(summary.title, 150))}* ({escape(art_form_text(summary.art_form))})\n"
        f"{_rate_line(summary)}\n{_averages_line(summary)}"
    )
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000)))


def _comment_block(item: AnswerComments, tz: ZoneInfo) -> SectionBlock:
    who = _("anonym") if item.anonymous or not item.user_id else f"<@{item.user_id}>"
    lines = []
    for comment in item.comments:
        label = _(QUESTION_LABELS[comment.question] if comment.question else OTHER_COMMENTS)
        lines.append(
            _("_%(label)s:_ «%(comment)s»")
            % {"label": label, "comment": escape(truncate(comment.text, 400))}
        )
    day = day_text(item.starts_at.astimezone(tz).date())
    lines.append(f"— {who}, {escape(item.school)}, {day}")
    return SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), 3000)))


def export_buttons(production_id: int | None) -> ActionsBlock:
    value = str(production_id) if production_id is not None else EXPORT_ALL
    return ActionsBlock(
        block_id=SUMMARY_EXPORT_BLOCK,
        elements=[
            ButtonElement(text=_("Last ned som Excel"), action_id=EXPORT_XLSX_ACTION, value=value),
            ButtonElement(text=_("Last ned som CSV"), action_id=EXPORT_CSV_ACTION, value=value),
        ],
    )


def export_production(value: str | None) -> int | None:
    """The production an export button's value names; None for every production."""
    return row_id(value or EXPORT_ALL)


SCALE_NOTE = N_("Snitt på en skala fra 1 (ikke bra) til 5 (svært bra).")


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
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_("*Siste kommentarer*"))))
        for item in comments[:5]:
            blocks.append(_comment_block(item, tz))
    notes = [_(SCALE_NOTE)]
    if not coordinator:
        notes.append(_("Bare koordinatorer ser kommentarene."))
    if footer:
        notes.append(footer)
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=" ".join(notes))]))
    if coordinator and summaries:
        blocks.append(export_buttons(export_production))
    return blocks


def totals_intro(totals: Totals) -> str:
    answers = answers_text(totals.answers)
    held = totals.held_performances
    if not held:
        return _("%(answers)s i alt.") % {"answers": answers}
    rate = min(1.0, totals.answered_performances / held)
    return ngettext(
        "%(answers)s i alt, fra %(answered)d av %(held)d holdt forestilling (%(rate)s).",
        "%(answers)s i alt, fra %(answered)d av %(held)d holdte forestillinger (%(rate)s).",
        held,
    ) % {
        "answers": answers,
        "answered": totals.answered_performances,
        "held": held,
        "rate": percent(rate),
    }


# --- the Home tab's «Tilbakemeldinger som mangler» ---------------------------------------------


def missing_feedback_blocks(
    rows: Sequence[MissingFeedback], total: int, *, days: int, tz: ZoneInfo
) -> list[Block]:
    """Performances of the last `days` days that nobody has answered for, each with its
    «Gi tilbakemelding» button; nothing when there are none (the Home tab leaves it out)."""
    if not rows:
        return []
    blocks: list[Block] = [HeaderBlock(text=_("Tilbakemeldinger som mangler"))]
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
                    text=_("Gi tilbakemelding"),
                    action_id=f"{FEEDBACK_OPEN_ACTION}_{i}",
                    value=performance_value(row.performance_id),
                ),
            )
        )
    # The count stops just past MISSING_COUNT_CAP: beyond it, say «over 100».
    counts = {"shown": len(rows), "n": total, "cap": MISSING_COUNT_CAP, "days": days}
    if total > MISSING_COUNT_CAP:
        said = _(
            "Viser %(shown)d av over %(cap)d forestillinger fra de siste %(days)d dagene "
            "uten tilbakemelding."
        )
    elif total > len(rows):
        said = ngettext(
            "Viser %(shown)d av %(n)d forestilling fra de siste %(days)d dagene "
            "uten tilbakemelding.",
            "Viser %(shown)d av %(n)d forestillinger fra de siste %(days)d dagene "
            "uten tilbakemelding.",
            total,
        )
    else:
        said = ngettext(
            "%(n)d forestilling fra de siste %(days)d dagene uten tilbakemelding.",
            "%(n)d forestillinger fra de siste %(days)d dagene uten tilbakemelding.",
            total,
        )
    anyone = _("Alle som var der, kan svare – det tar et minutt.")
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"{said % counts} {anyone}")]))
    return blocks
