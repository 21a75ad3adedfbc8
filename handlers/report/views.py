"""The annual report's Block Kit: the report message in the coordinator's DM (the figures as
sections, the charts as image blocks showing the uploaded files, «Last ned rapport»), the
January «Rapporten er klar» post, and the short replies of `/dks rapport`.

Pure builders: no Slack calls, no database. Texts are in the language in force.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    ImageBlock,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject, PlainTextObject

from handlers.core.blocks import SECTION_LIMIT
from handlers.core.commands import COMMAND
from handlers.core.format import escape, link, truncate
from handlers.core.i18n import _, current_language

# `/dks rapport` in each language (the subcommand's `words`, and what texts tell a reader to
# type).
WORD = "rapport"
WORDS = {"nn": "rapport", "en": "report"}
DOWNLOAD_ACTION = "report_download"
REPORT_HEADER_BLOCK = "report_header"
REPORT_ACTIONS_BLOCK = "report_actions"
READY_BLOCK = "report_ready"
CHART_BLOCK_PREFIX = "report_chart_"
MESSAGE_BLOCK_LIMIT = 50  # Slack's limit for a message
HEADER_LIMIT = 150  # a header block's plain_text
ALT_TEXT_LIMIT = 2000
IMAGE_TITLE_LIMIT = 2000
# The years `/dks rapport` takes: DKS began in 2001; a later year than this one has nothing.
FIRST_YEAR = 2001


@dataclass(frozen=True)
class ChartRef:
    """An uploaded chart as an image block shows it."""

    file_id: str
    title: str
    alt_text: str


def command_word(language: str | None = None) -> str:
    """The subcommand as a reader of `language` (default: the one in force) types it."""
    return WORDS.get(language or current_language(), WORD)


# --- replies to /dks rapport ---------------------------------------------------------------------


def making_text(year: int) -> str:
    return _("Lager rapporten for %(year)d … Den kommer i en direktemelding fra meg.") % {
        "year": year
    }


def bad_year_text(given: str, word: str, example_year: int) -> str:
    return _(
        "«%(given)s» er ikke et årstall jeg kan lage rapport for. Skriv for eksempel "
        "`%(command)s %(word)s %(year)d`, eller bare `%(command)s %(word)s` for i fjor."
    ) % {
        "given": escape(truncate(given, 40)),
        "command": COMMAND,
        "word": word,
        "year": example_year,
    }


def future_year_text(year: int, this_year: int) -> str:
    return _(
        "%(year)d har ikke kommet ennå. Jeg kan lage rapport for årene %(first)d–%(last)d."
    ) % {"year": year, "first": FIRST_YEAR, "last": this_year}


def empty_year_text(year: int) -> str:
    return _(
        "Jeg har ingen DKS-forestillinger registrert for %(year)d, så det er ingen rapport å "
        "lage. Er turnéplanen for året importert?"
    ) % {"year": year}


def ready_link_text(year: int, url: str) -> str:
    return _("Rapporten for %(year)d ligger i %(link)s.") % {
        "year": year,
        "link": link(url, _("direktemeldingen fra meg")),
    }


def dm_failed_text(error: str) -> str:
    return _(
        "Jeg fikk ikke åpnet en direktemelding med deg, så rapporten ble ikke sendt "
        "(Slack svarte «%(error)s»). Prøv igjen om litt."
    ) % {"error": escape(error)}


def upload_failed_text(error: str) -> str:
    return _(
        "Jeg fikk ikke lastet opp diagrammene til direktemeldingen (Slack svarte «%(error)s»), "
        "så rapporten ble ikke sendt. Prøv igjen om litt."
    ) % {"error": escape(error)}


def post_failed_text(error: str) -> str:
    return _(
        "Jeg fikk ikke sendt rapporten i direktemeldingen (Slack svarte «%(error)s»). "
        "Prøv igjen om litt."
    ) % {"error": escape(error)}


def charts_not_shown_text(error: str) -> str:
    return _(
        "Slack ville ikke vise diagrammene i rapporten (svarte «%(error)s»), så de ligger som "
        "filer rett over den i direktemeldingen."
    ) % {"error": escape(error)}


def charts_failed_text() -> str:
    return _(
        "Jeg fikk ikke laget diagrammene denne gangen, så de mangler. Tallene er med; prøv "
        "igjen om litt for å få diagrammene."
    )


def charts_comment(year: int) -> str:
    """The comment on the file-share message that carries the charts."""
    return _("Diagrammene til DKS-rapporten for %(year)d.") % {"year": year}


def workbook_comment(year: int, first_sheet: str) -> str:
    """`first_sheet`: the summary sheet's name in the workbook's language."""
    return _(
        "Rapporten for %(year)d som regneark: først «%(sheet)s», så ett ark per tabell og "
        "diagrammene."
    ) % {"year": year, "sheet": first_sheet}


def summary_sheet_name() -> str:
    """The workbook's first sheet, as handlers.report.files names it."""
    return _("Sammendrag")


def workbook_sent_text(year: int) -> str:
    return _("Regnearket med rapporten for %(year)d ligger i en direktemelding fra meg.") % {
        "year": year
    }


def workbook_failed_text(error: str | None) -> str:
    if error:
        return _(
            "Jeg fikk ikke sendt regnearket (Slack svarte «%(error)s»). Prøv igjen om litt, "
            "eller be den som drifter boten kjøre `dks-bot rapport`."
        ) % {"error": escape(error)}
    return _(
        "Jeg fikk ikke laget regnearket. Prøv igjen om litt, eller be den som drifter boten "
        "kjøre `dks-bot rapport`."
    )


# --- the report message --------------------------------------------------------------------------


def report_title(year: int) -> str:
    return _("DKS-rapport for %(year)d") % {"year": year}


def report_text(year: int) -> str:
    """The notification / fallback text of the report message."""
    return _("DKS-rapporten for %(year)d er klar.") % {"year": year}


def report_blocks(year: int, lines: Sequence[str], charts: Sequence[ChartRef]) -> list[Block]:
    """The report in the coordinator's DM: a header (the summary's title), the figures (one
    section per heading of `lines`), the charts showing the uploaded files, and «Last ned
    rapport»."""
    title, lines = split_title(lines)
    images = [chart_block(n, chart) for n, chart in enumerate(charts)]
    room = MESSAGE_BLOCK_LIMIT - 2 - len(images)  # the header and the button
    return [
        HeaderBlock(
            block_id=REPORT_HEADER_BLOCK, text=truncate(title or report_title(year), HEADER_LIMIT)
        ),
        *figure_sections(lines, room),
        *images,
        download_actions(year),
    ]


def split_title(lines: Sequence[str]) -> tuple[str | None, list[str]]:
    """A first heading with nothing under it is the summary's title («*DKS-rapport for
    2026*»): as plain text, and the lines after it."""
    rest = list(lines)
    if len(rest) >= 2 and _is_heading(rest[0]) and _is_heading(rest[1]):
        return rest[0].strip("*").strip(), rest[1:]
    return None, rest


def _is_heading(line: str) -> bool:
    return line.startswith("*")


def chart_block(n: int, chart: ChartRef) -> ImageBlock:
    return ImageBlock(
        block_id=f"{CHART_BLOCK_PREFIX}{n}",
        slack_file={"id": chart.file_id},
        alt_text=truncate(chart.alt_text or chart.title, ALT_TEXT_LIMIT),
        title=PlainTextObject(text=truncate(chart.title, IMAGE_TITLE_LIMIT)),
    )


def download_actions(year: int) -> ActionsBlock:
    return ActionsBlock(
        block_id=REPORT_ACTIONS_BLOCK,
        elements=[
            ButtonElement(
                text=_("Last ned rapport"),
                action_id=DOWNLOAD_ACTION,
                value=str(year),
                style="primary",
            )
        ],
    )


def figure_sections(lines: Sequence[str], room: int) -> list[Block]:
    """The summary lines as sections: a new one at each heading (a line starting with «*»),
    a long one split between lines, at most `room` blocks (the last then says where the rest
    is)."""
    groups: list[list[str]] = []
    for line in lines:
        if not groups or (_is_heading(line) and groups[-1]):
            groups.append([])
        groups[-1].append(line)
    texts: list[str] = []
    for group in groups:
        texts.extend(_pieces(group))
    if len(texts) > room:
        more = _("… resten står i regnearket: trykk «%(button)s».") % {
            "button": _("Last ned rapport")
        }
        texts = [*texts[: max(room - 1, 0)], more]
    return [SectionBlock(text=MarkdownTextObject(text=text)) for text in texts if text.strip()]


def _pieces(lines: Sequence[str]) -> list[str]:
    """`lines` joined into texts of at most SECTION_LIMIT characters, split between lines."""
    pieces: list[str] = []
    current = ""
    for line in lines:
        line = truncate(line, SECTION_LIMIT)
        if current and len(current) + 1 + len(line) > SECTION_LIMIT:
            pieces.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        pieces.append(current)
    return pieces


# --- the January post ----------------------------------------------------------------------------


def ready_text(year: int) -> str:
    return _("Rapporten for %(year)d er klar") % {"year": year}


def ready_blocks(
    year: int, lines: Sequence[str], *, word: str, in_channel: bool = False
) -> list[Block]:
    """«Rapporten for 2026 er klar»: the figures without comments, how to get the charts,
    and «Last ned rapport» (for coordinators; the button checks)."""
    if in_channel:
        hint = _(
            "Koordinatorer får diagrammene med `%(command)s %(word)s %(year)d`. Tallene kan "
            "brukes i årsrapporteringen i DKS-portalen."
        )
    else:
        hint = _(
            "Skriv `%(command)s %(word)s %(year)d` for diagrammene og kommentarene, eller last "
            "ned regnearket. Tallene kan brukes i årsrapporteringen i DKS-portalen."
        )
    blocks: list[Block] = [
        HeaderBlock(block_id=READY_BLOCK, text=truncate(ready_text(year), HEADER_LIMIT)),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=hint % {"command": COMMAND, "word": word, "year": year},
                )
            ]
        ),
    ]
    room = MESSAGE_BLOCK_LIMIT - len(blocks) - 1
    blocks += figure_sections(split_title(lines)[1], room)  # the header names the year
    blocks.append(download_actions(year))
    return blocks
