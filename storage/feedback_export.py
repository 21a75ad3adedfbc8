"""Feedback export for the annual report: one row per answer, columns named in Norwegian.

CSV is UTF-8 with a byte order mark and `;` between fields, which is what Excel in Norway
opens correctly (letters æ, ø, å intact, columns split). XLSX has real dates and numbers.
Neither includes who sent an answer: the report needs the answers, not the people.

Everything people wrote (comments, and the tour plan's names) is data, never a formula: in
XLSX it is a string cell holding exactly what was written (openpyxl would make any string
starting with «=» a formula); in CSV, where a spreadsheet decides for itself, a field that
starts with =, +, -, @, tab or carriage return gets OWASP's leading «'». Characters XML 1.0
forbids are left out of both (storage.text).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
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

from storage.feedback import QUESTION_KEYS, QUESTION_LABELS
from storage.models import FeedbackAnswer, Municipality, Performance, Production, School
from storage.text import xml_safe
from storage.tourplan import as_utc, local_to_utc

FORMATS = ("csv", "xlsx")
# OWASP's list for CSV injection: a spreadsheet may take a field starting so as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def columns() -> list[str]:
    names = [
        "Svar-ID",
        "Innsendt",
        "Sist endret",
        "Forestilling-ID",
        "Produksjon",
        "Kunstuttrykk",
        "Utøver",
        "Skole",
        "Kommune",
        "Dato",
        "Start",
        "Sted",
        "Trinn",
        "Forventet antall elever",
    ]
    for key in QUESTION_KEYS:
        names.append(f"{QUESTION_LABELS[key]} (1–5)")
        names.append(f"{QUESTION_LABELS[key]} – kommentar")
    names += ["Elevarrangører deltok", "Antall elever til stede", "Fritekst", "Anonymt"]
    return names


@dataclass(frozen=True)
class ExportRow:
    """Typed values in column order; `as_text` renders them for CSV."""

    values: tuple[Any, ...]

    def as_text(self) -> list[str]:
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
                out.append("ja" if value else "nei")
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
            prod.art_form,
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
            answer.pupil_hosts,
            answer.pupils_attended,
            answer.free_comment,
            answer.anonymous,
        ]
        yield ExportRow(tuple(xml_safe(v) if isinstance(v, str) else v for v in values))


def to_csv(rows: Iterator[ExportRow] | Sequence[ExportRow]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(columns())
    for row in rows:
        writer.writerow(row.as_text())
    # The BOM tells Excel the file is UTF-8; without it «Ås» turns into «Ã…s».
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def to_xlsx(rows: Iterator[ExportRow] | Sequence[ExportRow]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Tilbakemeldinger")
    sheet.freeze_panes = "A2"
    names = columns()
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
                cells.append("ja" if value else "nei")
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


def render(fmt: str, rows: Iterator[ExportRow] | Sequence[ExportRow]) -> bytes:
    if fmt == "csv":
        return to_csv(rows)
    if fmt == "xlsx":
        return to_xlsx(rows)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def export_filename(fmt: str, *, start: date | None, end: date | None, today: date) -> str:
    span = ""
    if start or end:
        span = f"-{start.isoformat() if start else 'start'}-til-{(end or today).isoformat()}"
    return f"dks-tilbakemeldinger{span}-{today.isoformat()}.{fmt}"
