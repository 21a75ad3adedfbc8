"""The annual report's files: the charts (PNG), the workbook (XLSX) and the CSV zip."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import replace
from datetime import date

import pytest
from matplotlib.image import imread
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import Engine

from handlers.core.i18n import use_language
from handlers.report.charts import HEIGHT, WIDTH, Chart, render_charts, render_charts_apart
from handlers.report.files import report_csv_zip, report_filename, report_tables, report_workbook
from storage.feedback import QUESTION_KEYS
from storage.report import AnnualReport, Totals
from tests.feedback_helpers import load_world
from tests.test_report_figures import AFTER_2026, TEAM, Sent, report, send

NB_SHEETS = [
    "Sammendrag",
    "Kunstuttrykk",
    "Trinn",
    "Skoler",
    "Skoler uten besøk",
    "Tilbakemeldinger",
    "Lavest vurdert",
    "Kommentarer",
    "Måned for måned",
    "Diagrammer",
]


@pytest.fixture
def year_2026(sqlite_engine: Engine) -> AnnualReport:
    ids = load_world(sqlite_engine, TEAM, AFTER_2026)
    ratings = dict.fromkeys(QUESTION_KEYS, 4)
    send(
        sqlite_engine,
        ids,
        [
            Sent("AS-H26-005", "U0A", {**ratings, "overall": 2}, 150, False, "=SUM(A1:A9)"),
            Sent("AS-H26-005", "U0B", {**ratings, "overall": 3}, 158, True, "Litt lang"),
            Sent("AS-H26-005", "U0C", {**ratings, "overall": 3}, None, False, None),
            Sent("AS-H26-003", "U0A", ratings, 100, False, "Flott – «æøå»"),
        ],
        AFTER_2026,
    )
    return report(sqlite_engine, 2026)


@pytest.fixture
def charts(year_2026: AnnualReport) -> list[Chart]:
    with use_language("nb"):
        return render_charts(year_2026)


def test_charts_are_pngs_of_the_stated_size_with_norwegian_alt_texts(charts):
    assert [c.name for c in charts] == [
        "forestillinger-per-kunstuttrykk",
        "elevbesok-per-trinn",
        "vurdering-per-kunstuttrykk",
        "forestillinger-per-maned",
    ]
    for chart in charts:
        assert (chart.width, chart.height) == (WIDTH, HEIGHT)
        with Image.open(io.BytesIO(chart.png)) as picture:
            assert picture.format == "PNG" and picture.size == (WIDTH, HEIGHT)
        assert imread(io.BytesIO(chart.png), format="png").shape[:2] == (HEIGHT, WIDTH)
        assert chart.title.endswith("2026") and len(chart.alt_text) <= 1000
    by_name = {c.name: c for c in charts}
    # 1.–4.: 003 (112 expected, 100 reported) + 004 (95) + 007 (52) + 008 (47);
    # 8.–10.: 005 (the median of 150 and 158: 154) + 006 (145) + 009 (150).
    alt = by_name["elevbesok-per-trinn"].alt_text
    assert "1.–4. trinn 294, 5.–7. trinn 157, 8.–10. trinn 449" in alt
    assert "november 8" in by_name["forestillinger-per-maned"].alt_text
    assert (
        "litteratur 1 gjennomført, 1 avlyst" in by_name["forestillinger-per-kunstuttrykk"].alt_text
    )
    assert "scenekunst 2,7 av 3 svar" in by_name["vurdering-per-kunstuttrykk"].alt_text


def test_charts_follow_the_language_and_an_empty_year_has_none(year_2026, charts):
    with use_language("en"):
        english = render_charts(year_2026)
    assert english[0].title != charts[0].title
    empty = replace(year_2026, totals=_no_performances(year_2026))
    assert render_charts(empty) == []


def test_a_child_process_draws_the_same_charts_in_the_language_in_force(year_2026, charts):
    with use_language("nn"):
        apart = render_charts_apart(year_2026)
    assert [c.name for c in apart] == [c.name for c in charts]
    assert apart[0].title == "Framsyningar per kunstuttrykk, 2026"
    with Image.open(io.BytesIO(apart[-1].png)) as picture:
        assert picture.size == (WIDTH, HEIGHT)


def _no_performances(found: AnnualReport) -> Totals:
    return replace(found.totals, held=0, cancelled=0)


def test_the_workbook_has_the_sheets_numbers_widths_and_charts(year_2026, charts):
    with use_language("nb"):
        raw = report_workbook(year_2026, charts)
    book = load_workbook(io.BytesIO(raw))
    assert book.sheetnames == NB_SHEETS

    summary_rows = list(book["Sammendrag"].iter_rows(values_only=True))
    assert summary_rows[0] == ("DKS-rapport for 2026", None)  # a list, no header row
    assert book["Sammendrag"]["A1"].font.bold
    summary = {row[0]: row[1] for row in summary_rows}
    assert summary["Gjennomførte forestillinger"] == 10
    assert summary["Avlyste forestillinger"] == 1
    assert summary["Produksjoner"] == 6
    assert summary["Elevbesøk i alt"] == year_2026.totals.attendances
    assert summary["Skoler uten DKS-besøk"] == 0
    assert summary["Svar"] == 4
    assert summary["Svarprosent"] == pytest.approx(0.2)
    assert summary["Snitt, Helhetsinntrykk (1–5)"] == pytest.approx(3.0)
    assert any("DKS-portalen" in str(label) for label in summary)
    labels = list(summary)
    # The sections in the report's order.
    assert labels.index("Produksjoner") < labels.index("Elevbesøk i alt")
    assert labels.index("Elevbesøk i alt") < labels.index("Skoler med besøk") < labels.index("Svar")

    art = list(book["Kunstuttrykk"].iter_rows(values_only=True))
    assert art[0] == (
        "Kunstuttrykk",
        "Gjennomførte forestillinger",
        "Avlyste forestillinger",
        "Produksjoner",
        "Elevbesøk",
    )
    assert art[1][:4] == ("musikk", 2, 0, 1) and isinstance(art[1][4], int)
    assert art[-1][:4] == ("I alt", 10, 1, 6)
    assert book["Kunstuttrykk"].column_dimensions["B"].width >= len(art[0][1])

    ratings = book["Tilbakemeldinger"]
    header = [c.value for c in ratings[1]]
    rate = header.index("Svarprosent") + 1
    total_row = ratings.max_row
    assert ratings.cell(total_row, 1).value == "I alt"
    assert ratings.cell(total_row, rate).value == pytest.approx(0.2)
    assert "%" in ratings.cell(total_row, rate).number_format

    comments = book["Kommentarer"]
    rows = list(comments.iter_rows(min_row=2, values_only=True))
    formula = next(r for r in rows if str(r[4]).startswith("="))
    assert formula[4] == "=SUM(A1:A9)" and formula[5] == "nei"  # text, never a formula
    assert next(r for r in rows if r[4] == "Litt lang")[5] == "ja"
    assert all(cell.data_type == "s" for cell in comments["E"][1:])
    assert not any("U0" in str(v) for r in rows for v in r)  # files name nobody
    assert isinstance(rows[0][0], type(date(2026, 1, 1))) or rows[0][0].year == 2026

    months = list(book["Måned for måned"].iter_rows(values_only=True))
    assert [r[1] for r in months[1:13]] == [0] * 10 + [8, 2]

    assert len(book["Diagrammer"]._images) == 4


def test_the_workbook_without_comments_and_in_english(year_2026, charts):
    with use_language("nb"):
        book = load_workbook(io.BytesIO(report_workbook(year_2026, [], comments=False)))
    assert book.sheetnames == [s for s in NB_SHEETS if s not in ("Kommentarer", "Diagrammer")]
    with use_language("en"):
        english = load_workbook(io.BytesIO(report_workbook(year_2026, charts)))
    assert english.sheetnames[0] == "Summary"
    assert english.sheetnames != NB_SHEETS


def test_csv_zip_holds_one_table_each_as_excel_in_norway_reads_it(year_2026):
    with use_language("nb"):
        archive = zipfile.ZipFile(io.BytesIO(report_csv_zip(year_2026)))
        tables = report_tables(year_2026)
    names = archive.namelist()
    assert names == [f"{n:02d}-{t.key}.csv" for n, t in enumerate(tables, start=1)]
    assert names[0] == "01-sammendrag.csv" and "08-kommentarer.csv" in names
    for name in names:
        raw = archive.read(name)
        assert raw.startswith(b"\xef\xbb\xbf")
    art = list(
        csv.reader(
            io.StringIO(archive.read("02-kunstuttrykk.csv").decode("utf-8-sig")), delimiter=";"
        )
    )
    assert art[0][0] == "Kunstuttrykk" and art[1][:4] == ["musikk", "2", "0", "1"]
    ratings = list(
        csv.reader(
            io.StringIO(archive.read("06-tilbakemeldinger.csv").decode("utf-8-sig")), delimiter=";"
        )
    )
    total = ratings[-1]
    assert total[0] == "I alt" and total[3] == "20,0 %" and total[5] == "3,00"
    comments = archive.read("08-kommentarer.csv").decode("utf-8-sig")
    assert "'=SUM(A1:A9)" in comments and "Flott – «æøå»" in comments
    assert "\r\n" in comments and "U0A" not in comments
    with use_language("en"):
        english = zipfile.ZipFile(io.BytesIO(report_csv_zip(year_2026)))
        rows = english.read("06-tilbakemeldinger.csv").decode("utf-8-sig").splitlines()
    assert rows[-1].split(";")[5] == "3.00"


def test_file_names():
    found = AnnualReport.__new__(AnnualReport)
    object.__setattr__(found, "year", 2026)
    assert report_filename(found, "xlsx") == "dks-rapport-2026.xlsx"
    assert report_filename(found, "csv") == "dks-rapport-2026.zip"
