"""The change requests of a round as one file for the county: one row per request.

The sibling of storage.feedback_export, with its conventions: CSV is UTF-8 with a byte order
mark and `;` between fields (what Excel in Norway opens correctly); XLSX has real dates and
times. Everything people wrote (comments, the contact person, the tour plan's names) is data,
never a formula: a string cell in XLSX, OWASP's leading «'» in CSV for a field starting with
=, +, -, @, tab or carriage return; characters XML 1.0 forbids are left out of both.

The file's words (column and sheet names, reasons, statuses, the wish, the file's name) are
bokmål messages marked for the catalogs; storage imports no handlers' views, so every function
that writes them takes `translate`, a gettext function: handlers.changes.export passes the
catalogs' in the workspace's language. Without one, the file is in bokmål.

Withdrawn requests are left out (the county has nothing to do with them) unless asked for.
Who filed a request is not in the file: the county needs the school's contact person, which the
form asks for.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlmodel import Session

from storage.changes import REASON_WORDS, STATUS_WORDS, RequestLine, requests_in_round
from storage.feedback import N_
from storage.feedback_export import Translate, Word, bokmal
from storage.text import xml_safe

FORMATS = ("csv", "xlsx")
# OWASP's list for CSV injection: a spreadsheet may take a field starting so as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

COLUMNS = (
    N_("Skole"),
    N_("Kommune"),
    N_("Produksjon"),
    N_("Forestilling-ID"),
    N_("Dato"),
    N_("Start"),
    N_("Grunn"),
    N_("Ønsket tidspunkt"),
    N_("Kontaktperson"),
    N_("Kommentar"),
    N_("Status"),
    N_("Meldt"),
)
# Column widths in XLSX, in characters, in column order.
_WIDTHS = (28, 18, 32, 16, 12, 8, 20, 30, 24, 50, 18, 17)
SHEET_NAME = N_("Endringsønsker")
WISH_DAY_TIME = N_("%(date)s kl. %(time)s")
WISH_WEEK = N_("hvilken som helst dag i uke %(week)d (%(year)d)")
FILE_NAME = N_("dks-endringsonsker-%(today)s.%(format)s")


def columns(translate: Translate = bokmal) -> list[str]:
    return [translate(name) for name in COLUMNS]


@dataclass(frozen=True)
class Wish:
    """The wished date (and time), or «any day in week N»; written in the file's language."""

    day: date | None
    clock: time | None
    week: int | None
    year: int | None

    def text(self, translate: Translate = bokmal) -> str | None:
        if self.day is not None:
            shown = self.day.strftime("%d.%m.%Y")
            if self.clock is None:
                return shown
            return translate(WISH_DAY_TIME) % {"date": shown, "time": self.clock.strftime("%H:%M")}
        if self.week is not None and self.year is not None:
            return translate(WISH_WEEK) % {"week": self.week, "year": self.year}
        return None


@dataclass(frozen=True)
class ExportRow:
    """Typed values in column order; `as_text` renders them for CSV."""

    values: tuple[Any, ...]

    def as_text(self, translate: Translate = bokmal) -> list[str]:
        out: list[str] = []
        for value in self.values:
            if isinstance(value, Wish):
                value = value.text(translate)
            if value is None:
                out.append("")
            elif isinstance(value, datetime):
                out.append(value.strftime("%d.%m.%Y %H:%M"))
            elif isinstance(value, date):
                out.append(value.strftime("%d.%m.%Y"))
            elif isinstance(value, time):
                out.append(value.strftime("%H:%M"))
            elif isinstance(value, Word):
                out.append(translate(value))
            elif isinstance(value, str):
                out.append("'" + value if value.startswith(_FORMULA_START) else value)
            else:
                out.append(str(value))
        return out


def _word(words: dict[str, str], code: str) -> str:
    word = words.get(code)
    return Word(word) if word else code


def row_of(line: RequestLine, tz: ZoneInfo) -> ExportRow:
    values: list[Any] = [
        line.school.name,
        line.school.municipality,
        line.production_title,
        line.external_key,
        line.day,
        line.start,
        _word(REASON_WORDS, line.reason),
        Wish(line.wished_date, line.wished_time, line.wished_week, line.wished_year),
        line.contact_person,
        line.comment,
        _word(STATUS_WORDS, line.status),
        line.filed_at.astimezone(tz).replace(tzinfo=None),
    ]
    return ExportRow(
        tuple(xml_safe(v) if isinstance(v, str) and not isinstance(v, Word) else v for v in values)
    )


def export_rows(
    *,
    session: Session,
    team_id: str,
    round_id: int,
    tz: ZoneInfo,
    include_withdrawn: bool = False,
) -> list[ExportRow]:
    """The round's requests by municipality, school and performance date."""
    lines = requests_in_round(
        session=session,
        team_id=team_id,
        round_id=round_id,
        tz=tz,
        include_withdrawn=include_withdrawn,
    )
    return [row_of(line, tz) for line in lines]


def to_csv(rows: Sequence[ExportRow], translate: Translate = bokmal) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(columns(translate))
    for row in rows:
        writer.writerow(row.as_text(translate))
    # The BOM tells Excel the file is UTF-8; without it «Ås» turns into «Ã…s».
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def _cell(sheet: Any, value: Any, translate: Translate) -> Any:
    if isinstance(value, Wish):
        value = value.text(translate)
    if isinstance(value, Word):
        return translate(value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, datetime):
        cell.number_format = "dd.mm.yyyy hh:mm"
    elif isinstance(value, date):
        cell.number_format = "dd.mm.yyyy"
    elif isinstance(value, time):
        cell.number_format = "hh:mm"
    elif isinstance(value, str):
        cell.data_type = "s"  # after the value: openpyxl makes «=…» a formula
        if "\n" in value:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


def to_xlsx(rows: Sequence[ExportRow], translate: Translate = bokmal) -> bytes:
    book = Workbook(write_only=True)
    # Excel refuses sheet names over 31 characters.
    sheet = book.create_sheet(translate(SHEET_NAME)[:31])
    sheet.freeze_panes = "A2"
    for index, width in enumerate(_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    header = []
    for name in columns(translate):
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append([_cell(sheet, value, translate) for value in row.values])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render(fmt: str, rows: Sequence[ExportRow], translate: Translate = bokmal) -> bytes:
    if fmt == "csv":
        return to_csv(rows, translate)
    if fmt == "xlsx":
        return to_xlsx(rows, translate)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def export_filename(fmt: str, *, today: date, translate: Translate = bokmal) -> str:
    return translate(FILE_NAME) % {"today": today.isoformat(), "format": fmt}
