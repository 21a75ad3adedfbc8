"""Tables as a workbook (XLSX) or a zip of CSV files: the annual report's files.

The words are not chosen here (storage imports no `handlers`): handlers/report/files.py builds
the report's `Table`s in the reader's language and hands them to `workbook` and `csv_zip`.
The workbook has a sheet per table, bold headers, numbers as numbers (a response rate is a
fraction shown as a percentage, an average has one decimal), column widths set to fit, and a
last sheet with the charts as pictures. The zip has one CSV per table, written as the feedback
export writes them (storage.feedback_export): UTF-8 with a byte order mark, «;» between
fields, and what people wrote never read as a formula — in XLSX a string cell holding exactly
what was written, in CSV a leading «'» before =, +, -, @, tab or carriage return. Characters
XML 1.0 forbids are left out of both (storage.text).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any, Protocol

from babel.numbers import format_decimal, format_percent

from storage.text import xml_safe

FORMATS = ("xlsx", "csv")
# OWASP's list for CSV injection: a spreadsheet may take a field starting so as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# How a column's numbers look: whole numbers, a fraction shown as a percentage, an average.
INTEGER, PERCENT, AVERAGE, DAY, TEXT = "integer", "percent", "average", "day", "text"
_XLSX_FORMATS = {INTEGER: "#,##0", PERCENT: "0.0 %", AVERAGE: "0.0", DAY: "dd.mm.yyyy"}


@dataclass(frozen=True)
class Table:
    """One sheet of the workbook and one CSV file of the zip. A `listing` table (the summary)
    has no header row: its rows are (label, value, kind), the value's kind per row."""

    key: str
    """The CSV file's stem (stable, ASCII): «kunstuttrykk»."""
    title: str
    """The sheet's name in the language in force."""
    headers: tuple[str, ...]
    kinds: tuple[str, ...]
    """Per column: INTEGER, PERCENT, AVERAGE, DAY or TEXT."""
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    bold_rows: frozenset[int] = frozenset()
    """Row indexes (0-based, in `rows`) written bold: section headings, totals."""
    listing: bool = False


# --- XLSX ---------------------------------------------------------------------------------------

_NOT_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(title: str, taken: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique (case-insensitively)."""
    name = _NOT_IN_SHEET_NAME.sub(" ", title).strip()[:31] or "Ark"
    candidate, n = name, 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate, n = name[: 31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.lower())
    return candidate


def _width(value: Any, kind: str) -> int:
    if value is None:
        return 0
    if kind == PERCENT:
        return 7
    if kind == AVERAGE:
        return 5
    if kind == DAY:
        return 10
    if kind == INTEGER and isinstance(value, int):
        return len(f"{value:,}")
    return max((len(part) for part in str(value).splitlines()), default=0)


class Picture(Protocol):
    """A chart to embed (handlers.report.charts.Chart is one)."""

    @property
    def title(self) -> str: ...
    @property
    def png(self) -> bytes: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...


def workbook(
    tables: Sequence[Table], pictures: Sequence[Picture] = (), *, pictures_sheet: str = ""
) -> bytes:
    """XLSX: a sheet per table in order, then, if there are pictures, a sheet named
    `pictures_sheet` with each under its title (shown at half their pixel size)."""
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    taken: set[str] = set()
    for table in tables:
        sheet = book.create_sheet(_sheet_name(table.title, taken))
        summary = table.listing
        if not summary:
            sheet.append(list(table.headers))
            for cell in sheet[1]:
                cell.font = bold
            sheet.freeze_panes = "A2"
        widths = [len(h) for h in table.headers] if not summary else [0, 0, 0]
        first_row = sheet.max_row + 1 if not summary else 1
        for index, values in enumerate(table.rows):
            row_number = first_row + index
            kinds = table.kinds
            if summary:
                label, value, kind = values
                values, kinds = (label, value), (TEXT, kind or TEXT)
            for column, (value, kind) in enumerate(zip(values, kinds, strict=True), start=1):
                cell = sheet.cell(row=row_number, column=column)
                if isinstance(value, str):
                    cell.value = xml_safe(value)
                    cell.data_type = "s"  # after the value: openpyxl makes «=…» a formula
                else:
                    cell.value = value
                    if kind in _XLSX_FORMATS:
                        cell.number_format = _XLSX_FORMATS[kind]
                if index in table.bold_rows:
                    cell.font = bold
                # Long lines of the summary (notes) stay in column A, wrapping is not wanted:
                # they are read, not sorted.
                if not (summary and column == 1 and values[1] is None):
                    widths[column - 1] = max(widths[column - 1], _width(value, kind))
        for column, width in enumerate(widths, start=1):
            if width:
                sheet.column_dimensions[get_column_letter(column)].width = min(
                    60, max(8, width + 2)
                )
        if summary:
            sheet.column_dimensions["A"].width = min(60, max(30, widths[0] + 2))
            sheet.column_dimensions["B"].width = 14
            for row in sheet.iter_rows(min_col=2, max_col=2):
                for cell in row:
                    cell.alignment = Alignment(horizontal="right")
    if pictures:
        sheet = book.create_sheet(_sheet_name(pictures_sheet, taken))
        row = 1
        for chart in pictures:
            sheet.cell(row=row, column=1, value=xml_safe(chart.title)).font = bold
            picture = Image(io.BytesIO(chart.png))
            # Shown at half the pixel size: the PNGs are drawn for sharp screens.
            picture.width, picture.height = chart.width // 2, chart.height // 2
            sheet.add_image(picture, f"A{row + 1}")
            # Default rows are 20 px high: leave room for the picture and a gap.
            row += picture.height // 20 + 3
        sheet.column_dimensions["A"].width = 12
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- CSV ----------------------------------------------------------------------------------------


def _csv_value(value: Any, kind: str, locale: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        text = xml_safe(value)
        return "'" + text if text.startswith(_FORMULA_START) else text
    if kind == PERCENT:
        return format_percent(value, "#,##0.0 %", locale=locale)
    if kind == AVERAGE:
        return format_decimal(value, "0.00", locale=locale)
    if kind == DAY and isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def table_csv(table: Table, *, locale: str) -> bytes:
    """One table as CSV: UTF-8 with BOM, «;», CRLF; decimals as `locale` (Babel's, such as
    nb_NO) writes them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    value: Callable[[Any, str], str] = partial(_csv_value, locale=locale)
    if table.listing:
        writer.writerow([_csv_value(h, TEXT, locale) for h in table.headers[:2]])
        for label, number, kind in table.rows:
            writer.writerow([value(label, TEXT), value(number, kind or TEXT)])
    else:
        writer.writerow([_csv_value(h, TEXT, locale) for h in table.headers])
        for row in table.rows:
            writer.writerow([value(v, k) for v, k in zip(row, table.kinds, strict=True)])
    # The BOM tells Excel the file is UTF-8; without it «Ås» turns into «Ã…s».
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def csv_zip(tables: Sequence[Table], *, locale: str) -> bytes:
    """A zip with one CSV per table, numbered in order: «01-sammendrag.csv» …"""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for n, table in enumerate(tables, start=1):
            archive.writestr(f"{n:02d}-{table.key}.csv", table_csv(table, locale=locale))
    return out.getvalue()
