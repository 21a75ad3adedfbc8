"""Feedback export for the annual report: one row per answer, columns named in the workspace's
language.

CSV is UTF-8 with a byte order mark and `;` between fields, which is what Excel in Norway
opens correctly (letters æ, ø, å intact, columns split). XLSX has real dates and numbers.
Neither includes who sent an answer: the report needs the answers, not the people.

Everything people wrote (comments, and the tour plan's names) is data, never a formula: in
XLSX it is a string cell holding exactly what was written (openpyxl would make any string
starting with «=» a formula); in CSV, where a spreadsheet decides for itself, a field that
starts with =, +, -, @, tab or carriage return gets OWASP's leading «'». Characters XML 1.0
forbids are left out of both (storage.text).

The words in the file (column and sheet names, «ja»/«nei», the file name) are bokmål messages
marked for the catalogs; storage imports no handlers, so every function that writes them takes
`translate`, a gettext function: handlers.feedback.export passes the catalogs' in the
workspace's language (`render_export`). Without one, the file is in bokmål.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from storage.feedback import ART_FORM_WORDS, N_, QUESTION_KEYS, QUESTION_LABELS
from storage.models import (
    FeedbackAnswer,
    Municipality,
    Performance,
    Production,
    PupilHosts,
    School,
)
from storage.text import xml_safe
from storage.tourplan import as_utc, local_to_utc

FORMATS = ("csv", "xlsx")
# OWASP's list for CSV injection: a spreadsheet may take a field starting so as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


Translate = Callable[[str], str]


def bokmal(message: str) -> str:
    """The `translate` that keeps the source language."""
    return message


# The columns before and after the questions' (a rating and a comment each), in file order.
FIRST_COLUMNS = (
    N_("Svar-ID"),
    N_("Innsendt"),
    N_("Sist endret"),
    N_("Forestilling-ID"),
    N_("Produksjon"),
    N_("Kunstuttrykk"),
    N_("Utøver"),
    N_("Skole"),
    N_("Kommune"),
    N_("Dato"),
    N_("Start"),
    N_("Sted"),
    N_("Trinn"),
    N_("Forventet antall elever"),
)
RATING_COLUMN = N_("%(question)s (1–5)")
COMMENT_COLUMN = N_("%(question)s – kommentar")
LAST_COLUMNS = (
    N_("Elevarrangører deltok"),
    N_("Antall elever til stede"),
    N_("Fritekst"),
    N_("Anonymt"),
)
SHEET_NAME = N_("Tilbakemeldinger")
YES, NO = N_("ja"), N_("nei")
# What an answer said about pupil hosts (stored as the bokmål word).
PUPIL_HOSTS_WORDS = {
    PupilHosts.YES.value: N_("ja"),
    PupilHosts.NO.value: N_("nei"),
    PupilHosts.UNKNOWN.value: N_("vet ikke"),
}
FILE_NAME = N_("dks-tilbakemeldinger-%(today)s.%(format)s")
SPAN_FILE_NAME = N_("dks-tilbakemeldinger-%(start)s-til-%(end)s-%(today)s.%(format)s")
FROM_THE_START = N_("start")


def columns(translate: Translate = bokmal) -> list[str]:
    names = [translate(name) for name in FIRST_COLUMNS]
    for key in QUESTION_KEYS:
        question = translate(QUESTION_LABELS[key])
        names.append(translate(RATING_COLUMN) % {"question": question})
        names.append(translate(COMMENT_COLUMN) % {"question": question})
    names += [translate(name) for name in LAST_COLUMNS]
    return names


class Word(str):
    """A cell that is one of the file's own words (bokmål), written in the file's language."""


def _word(words: dict[str, str], stored: str | None) -> str | None:
    """A stored bokmål word as a Word to translate; anything else as stored."""
    word = words.get(stored or "")
    return Word(word) if word else stored


@dataclass(frozen=True)
class ExportRow:
    """Typed values in column order; `as_text` renders them for CSV."""

    values: tuple[Any, ...]

    def as_text(self, translate: Translate = bokmal) -> list[str]:
        out: list[str] = []
        for value in self.values:
            if value is None:
                out.append("")
            elif isinstance(value, datetime):
                out.append(value.strftime("%d.%m.%Y %H:%M"))
            elif isinstance(value, date):
                out.append(value.strftime("%d.%m.%Y"))
            elif isinstance(value, time):
                out.append(value.strftime("%H:%M"))
            elif isinstance(value, bool):
                out.append(translate(YES if value else NO))
            elif isinstance(value, Word):
                out.append(translate(value))
            elif isinstance(value, str):
                out.append("'" + value if value.startswith(_FORMULA_START) else value)
            else:
                out.append(str(value))
        return out


def export_rows(
    *,
    session: Session,
    team_id: str,
    tz: ZoneInfo,
    start: date | None = None,
    end: date | None = None,
    production_id: int | None = None,
) -> Iterator[ExportRow]:
    """Answers whose performance took place from `start` to `end` (local dates, inclusive)."""
    stmt = (
        sa_select(FeedbackAnswer, Performance, Production, col(School.name), col(Municipality.name))
        .join(Performance, col(Performance.id) == col(FeedbackAnswer.performance_id))
        .join(Production, col(Production.id) == col(FeedbackAnswer.production_id))
        .join(School, col(School.id) == col(Performance.school_id))
        .outerjoin(Municipality, col(Municipality.id) == col(School.municipality_id))
        .where(col(FeedbackAnswer.team_id) == team_id)
        .order_by(col(Performance.starts_at), col(FeedbackAnswer.id))
    )
    if start is not None:
        stmt = stmt.where(col(Performance.starts_at) >= local_to_utc(start, time(), tz))
    if end is not None:
        stmt = stmt.where(
            col(Performance.starts_at) < local_to_utc(end + timedelta(days=1), time(), tz)
        )
    if production_id is not None:
        stmt = stmt.where(col(FeedbackAnswer.production_id) == production_id)
    for answer, perf, prod, school, municipality in session.execute(
        stmt.execution_options(yield_per=1000)
    ):
        starts = as_utc(perf.starts_at).astimezone(tz)
        values: list[Any] = [
            answer.id,
            as_utc(answer.created_at).astimezone(tz).replace(tzinfo=None),
            as_utc(answer.updated_at).astimezone(tz).replace(tzinfo=None),
            perf.external_key,
            prod.title,
            _word(ART_FORM_WORDS, prod.art_form),
            prod.producer,
            school,
            municipality,
            starts.date(),
            starts.time().replace(tzinfo=None),
            perf.venue,
            perf.grade_levels,
            perf.expected_pupils,
        ]
        for key in QUESTION_KEYS:
            values.append(getattr(answer, f"rating_{key}"))
            values.append(getattr(answer, f"comment_{key}"))
        values += [
            _word(PUPIL_HOSTS_WORDS, answer.pupil_hosts),
            answer.pupils_attended,
            answer.free_comment,
            answer.anonymous,
        ]
        yield ExportRow(
            tuple(
                xml_safe(v) if isinstance(v, str) and not isinstance(v, Word) else v for v in values
            )
        )


def to_csv(rows: Iterator[ExportRow] | Sequence[ExportRow], translate: Translate = bokmal) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(columns(translate))
    for row in rows:
        writer.writerow(row.as_text(translate))
    # The BOM tells Excel the file is UTF-8; without it «Ås» turns into «Ã…s».
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def to_xlsx(
    rows: Iterator[ExportRow] | Sequence[ExportRow], translate: Translate = bokmal
) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(translate(SHEET_NAME))
    sheet.freeze_panes = "A2"
    names = columns(translate)
    yes, no = translate(YES), translate(NO)
    widths = [max(10, min(40, len(n) + 2)) for n in names]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    header = []
    for name in names:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        cells: list[Any] = []
        for value in row.values:
            if isinstance(value, bool):
                cells.append(yes if value else no)
            elif isinstance(value, Word):
                cells.append(translate(value))
            elif isinstance(value, datetime):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "dd.mm.yyyy hh:mm"
                cells.append(cell)
            elif isinstance(value, date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "dd.mm.yyyy"
                cells.append(cell)
            elif isinstance(value, time):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "hh:mm"
                cells.append(cell)
            elif isinstance(value, str):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"  # after the value: openpyxl makes «=…» a formula
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render(
    fmt: str, rows: Iterator[ExportRow] | Sequence[ExportRow], translate: Translate = bokmal
) -> bytes:
    if fmt == "csv":
        return to_csv(rows, translate)
    if fmt == "xlsx":
        return to_xlsx(rows, translate)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def export_filename(
    fmt: str,
    *,
    start: date | None,
    end: date | None,
    today: date,
    translate: Translate = bokmal,
) -> str:
    if not start and not end:
        return translate(FILE_NAME) % {"today": today.isoformat(), "format": fmt}
    return translate(SPAN_FILE_NAME) % {
        "start": start.isoformat() if start else translate(FROM_THE_START),
        "end": (end or today).isoformat(),
        "today": today.isoformat(),
        "format": fmt,
    }
