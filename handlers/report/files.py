"""The annual report as files, in the language in force: its tables, the workbook (XLSX,
with the charts) and the zip of CSV files.

`report_tables` lays the report out in the order of its sections: a first table
«Sammendrag» with the figures, then one per list (art forms, grade bands, schools, schools
with no visit, feedback per art form, the lowest rated, comments, month by month).
storage/report_export.py writes them. Economy is not in the bot: the summary says it is
reported in DKS-portalen. Comments are for coordinators (`comments=False` leaves them out);
like the feedback export, the files name nobody: a comment only says whether it was
anonymous.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from handlers.core.i18n import _, babel_locale
from handlers.report.summary import (
    art_form_label,
    attendance_source_line,
    band_label,
    economy_line,
    month_label,
    question_label,
    school_label,
)
from storage.feedback import QUESTION_KEYS
from storage.report import AnnualReport
from storage.report_export import (
    AVERAGE,
    DAY,
    INTEGER,
    PERCENT,
    TEXT,
    Table,
    csv_zip,
    workbook,
)

if TYPE_CHECKING:
    from handlers.report.charts import Chart


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _summary(report: AnnualReport, *, comments: bool) -> Table:
    t = report.totals
    fb = report.feedback
    rows: list[tuple[Any, ...]] = []
    bold: set[int] = set()

    def heading(text: str) -> None:
        bold.add(len(rows))
        rows.append((text, None, None))

    def line(label: str, value: Any, kind: str = INTEGER) -> None:
        rows.append((label, value, kind))

    bold.add(0)
    rows.append((_("DKS-rapport for %(year)d") % {"year": report.year}, None, None))
    if report.is_empty:
        rows.append(
            (
                _("Ingen forestillinger er registrert i %(year)d.") % {"year": report.year},
                None,
                None,
            )
        )
    heading(_("Forestillinger og produksjoner"))
    line(_("Gjennomførte forestillinger"), t.held)
    line(_("Avlyste forestillinger"), t.cancelled)
    if t.planned:
        line(_("Planlagte forestillinger (ikke holdt ennå)"), t.planned)
    line(_("Produksjoner"), t.productions)
    for a in report.art_forms:
        line(
            _("Gjennomførte forestillinger, %(art_form)s")
            % {"art_form": art_form_label(a.art_form)},
            a.held,
        )
    heading(_("Elevbesøk"))
    line(_("Elevbesøk i alt"), t.attendances)
    for a in report.art_forms:
        line(_("Elevbesøk, %(art_form)s") % {"art_form": art_form_label(a.art_form)}, a.attendances)
    for b in report.grade_bands:
        line(_("Elevbesøk, %(band)s") % {"band": band_label(b.band)}, b.attendances)
    rows.append((attendance_source_line(report), None, None))
    heading(_("Skoler"))
    line(_("Skoler med besøk"), t.schools_reached)
    line(_("Skoler uten DKS-besøk"), len(report.schools_without_visit))
    line(_("Skoler i katalogen"), t.schools_in_directory)
    heading(_("Tilbakemeldinger"))
    line(_("Svar"), fb.answers)
    line(_("Forestillinger med svar"), fb.answered_performances)
    line(_("Svarprosent"), fb.response_rate, PERCENT)
    for q in QUESTION_KEYS:
        line(
            _("Snitt, %(question)s (1–5)") % {"question": question_label(q)},
            fb.averages[q],
            AVERAGE,
        )
    if comments:
        line(_("Kommentarer"), fb.comments_total)
    heading(_("Økonomi"))
    rows.append((economy_line(), None, None))
    return Table(
        key="sammendrag",
        title=_("Sammendrag"),
        headers=(_("Hva"), _("Tall"), ""),
        kinds=(TEXT, INTEGER, TEXT),
        rows=[(label, value, kind) for label, value, kind in rows],
        bold_rows=frozenset(bold),
        listing=True,
    )


def report_tables(report: AnnualReport, *, comments: bool = True) -> list[Table]:
    """The report's tables in the order of its sections; `comments` adds the comments
    (coordinators only)."""
    t = report.totals
    fb = report.feedback
    tables = [_summary(report, comments=comments)]

    art = Table(
        key="kunstuttrykk",
        title=_("Kunstuttrykk"),
        headers=(
            _("Kunstuttrykk"),
            _("Gjennomførte forestillinger"),
            _("Avlyste forestillinger"),
            _("Produksjoner"),
            _("Elevbesøk"),
        ),
        kinds=(TEXT, INTEGER, INTEGER, INTEGER, INTEGER),
        rows=[
            (art_form_label(a.art_form), a.held, a.cancelled, a.productions, a.attendances)
            for a in report.art_forms
        ],
    )
    art.rows.append((_("I alt"), t.held, t.cancelled, t.productions, t.attendances))
    tables.append(_with_bold_last(art))

    bands = Table(
        key="trinn",
        title=_("Trinn"),
        headers=(_("Trinn"), _("Gjennomførte forestillinger"), _("Elevbesøk")),
        kinds=(TEXT, INTEGER, INTEGER),
        rows=[(band_label(b.band), b.held, b.attendances) for b in report.grade_bands],
    )
    bands.rows.append((_("I alt"), t.held, t.attendances))
    tables.append(_with_bold_last(bands))

    tables.append(
        Table(
            key="skoler",
            title=_("Skoler"),
            headers=(
                _("Skole"),
                _("Kommune"),
                _("Gjennomførte forestillinger"),
                _("Avlyste forestillinger"),
                _("Planlagte forestillinger"),
                _("Elevbesøk"),
            ),
            kinds=(TEXT, TEXT, INTEGER, INTEGER, INTEGER, INTEGER),
            rows=[
                (
                    school_label(s.name),
                    s.municipality,
                    s.held,
                    s.cancelled,
                    s.planned,
                    s.attendances,
                )
                for s in report.schools
            ],
        )
    )
    tables.append(
        Table(
            key="skoler-uten-besok",
            title=_("Skoler uten besøk"),
            headers=(_("Skole"), _("Kommune")),
            kinds=(TEXT, TEXT),
            rows=[(s.name, s.municipality) for s in report.schools_without_visit],
        )
    )

    question_headers = tuple(
        _("%(question)s (snitt 1–5)") % {"question": question_label(q)} for q in QUESTION_KEYS
    )
    ratings = Table(
        key="tilbakemeldinger",
        title=_("Tilbakemeldinger"),
        headers=(
            _("Kunstuttrykk"),
            _("Gjennomførte forestillinger"),
            _("Forestillinger med svar"),
            _("Svarprosent"),
            _("Svar"),
            *question_headers,
        ),
        kinds=(TEXT, INTEGER, INTEGER, PERCENT, INTEGER, *(AVERAGE for _q in QUESTION_KEYS)),
        rows=[
            (
                art_form_label(r.art_form),
                r.held,
                r.answered_performances,
                r.response_rate,
                r.answers,
                *(r.averages[q] for q in QUESTION_KEYS),
            )
            for r in fb.per_art_form
        ],
    )
    ratings.rows.append(
        (
            _("I alt"),
            fb.held,
            fb.answered_performances,
            fb.response_rate,
            fb.answers,
            *(fb.averages[q] for q in QUESTION_KEYS),
        )
    )
    tables.append(_with_bold_last(ratings))
    tables.append(
        Table(
            key="lavest-vurdert",
            title=_("Lavest vurdert"),
            headers=(_("Produksjon"), _("Kunstuttrykk"), _("Svar"), *question_headers),
            kinds=(TEXT, TEXT, INTEGER, *(AVERAGE for _q in QUESTION_KEYS)),
            rows=[
                (
                    p.title,
                    art_form_label(p.art_form),
                    p.answers,
                    *(p.averages[q] for q in QUESTION_KEYS),
                )
                for p in fb.lowest_rated
            ],
        )
    )
    if comments:
        tables.append(
            Table(
                key="kommentarer",
                title=_("Kommentarer"),
                headers=(
                    _("Dato"),
                    _("Produksjon"),
                    _("Skole"),
                    _("Spørsmål"),
                    _("Kommentar"),
                    _("Anonymt"),
                ),
                kinds=(DAY, TEXT, TEXT, TEXT, TEXT, TEXT),
                rows=[
                    (
                        c.day,
                        c.production,
                        school_label(c.school),
                        question_label(c.question),
                        c.text,
                        # As in the feedback export, files name nobody: the Slack summary
                        # shows coordinators who wrote; a file only says whether it was
                        # anonymous.
                        _("ja") if c.author is None else _("nei"),
                    )
                    for c in fb.comments
                ],
            )
        )
    timeline = Table(
        key="maned-for-maned",
        title=_("Måned for måned"),
        headers=(
            _("Måned"),
            _("Gjennomførte forestillinger"),
            _("Avlyste forestillinger"),
            _("Planlagte forestillinger"),
            _("Elevbesøk"),
        ),
        kinds=(TEXT, INTEGER, INTEGER, INTEGER, INTEGER),
        rows=[
            (month_label(report.year, m.month), m.held, m.cancelled, m.planned, m.attendances)
            for m in report.timeline
        ],
    )
    timeline.rows.append((_("I alt"), t.held, t.cancelled, t.planned, t.attendances))
    tables.append(_with_bold_last(timeline))
    return tables


def _with_bold_last(table: Table) -> Table:
    return replace(table, bold_rows=frozenset({len(table.rows) - 1}))


def report_workbook(
    report: AnnualReport, charts: Sequence[Chart], *, comments: bool = True
) -> bytes:
    """XLSX: «Sammendrag» first, then a sheet per table, the charts embedded on a last sheet;
    headers in the language in force. `comments` (coordinators only) adds their sheet."""
    return workbook(
        report_tables(report, comments=comments), charts, pictures_sheet=_("Diagrammer")
    )


def report_csv_zip(report: AnnualReport, *, comments: bool = True) -> bytes:
    """A zip with one CSV per table, numbered in the report's order: «01-sammendrag.csv» …;
    decimals as the language in force writes them."""
    return csv_zip(report_tables(report, comments=comments), locale=babel_locale())


def report_filename(report: AnnualReport, fmt: str) -> str:
    """«dks-rapport-2026.xlsx» / «dks-rapport-2026.zip» for fmt «xlsx» / «csv»."""
    name = _("dks-rapport-%(year)d") % {"year": report.year}
    return f"{name}.{'zip' if fmt == 'csv' else fmt}"
