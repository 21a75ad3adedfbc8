"""The annual report (issue #16): a year's DKS figures from the tour plan and the feedback.

See docs/report.md for what is counted and why. In short:

- The year is a calendar year in the workspace's time zone (Europe/Oslo): the county's
  reporting (DKS-portalen, due in February) is per calendar year, so a performance belongs to
  the year its local start date falls in.
- Held = not cancelled and ended. A cancelled performance is never held. Performances of the
  year that have not ended yet are «planned» (only the current year has any).
- Pupil attendances (elevbesøk) of a held performance: the pupils present that feedback
  reported, else the pupils the tour plan expected. Several answers may report the number;
  the performance counts once, with the median of the reported numbers (the upper middle
  rounded half up for an even count), so one mistyped answer cannot move it far.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, and_, case, func, literal, or_, union_all
from sqlalchemy import null as sa_null
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from storage.feedback import QUESTION_KEYS
from storage.folding import fold
from storage.models import ArtForm, FeedbackAnswer, Municipality, Performance, Production, School
from storage.tourplan import as_utc, local_to_utc

# Grade bands, in order. VG only appears when the tour plan has VG rows (upper secondary is
# the county's DKS); «uten trinn» holds performances whose tour plan row gave no grades.
BAND_1_4 = "1–4"
BAND_5_7 = "5–7"
BAND_8_10 = "8–10"
BAND_VG = "VG"
BAND_NONE = "uten trinn"
GRADE_BANDS: tuple[str, ...] = (BAND_1_4, BAND_5_7, BAND_8_10, BAND_VG)

# A production needs this many answers to be ranked among the lowest rated.
MIN_ANSWERS_FOR_RANKING = 3
LOWEST_RATED_LIMIT = 5
# The newest comments the report carries (the feedback export has every one).
COMMENT_LIMIT = 100

# Where a performance's pupil number came from.
SOURCE_FEEDBACK = "feedback"
SOURCE_TOURPLAN = "tourplan"
SOURCE_NONE = "none"

UNKNOWN_SCHOOL = "ukjent skole"


@dataclass(frozen=True)
class Totals:
    """The year's totals over every art form."""

    held: int
    """Performances that took place: not cancelled and ended."""
    cancelled: int
    """Performances of the year marked cancelled (never counted as held)."""
    planned: int
    """Performances of the year neither cancelled nor ended yet (only in the current year)."""
    productions: int
    """Distinct productions with at least one held performance in the year."""
    attendances: int
    """Pupil attendances (elevbesøk): the sum over held performances of the pupils present."""
    attendances_from_feedback: int
    """Held performances whose pupil number came from feedback (pupils present)."""
    attendances_from_tourplan: int
    """Held performances whose pupil number came from the tour plan (pupils expected)."""
    attendances_unknown: int
    """Held performances with neither a reported nor an expected pupil number (count 0)."""
    schools_reached: int
    """Distinct schools with at least one held performance."""
    schools_in_directory: int
    """Schools in the workspace's directory (today)."""

    @property
    def attendance_source(self) -> str:
        """SOURCE_FEEDBACK, SOURCE_TOURPLAN, «mixed» (both) or SOURCE_NONE."""
        if self.attendances_from_feedback and self.attendances_from_tourplan:
            return "mixed"
        if self.attendances_from_feedback:
            return SOURCE_FEEDBACK
        if self.attendances_from_tourplan:
            return SOURCE_TOURPLAN
        return SOURCE_NONE


@dataclass(frozen=True)
class ArtFormFigures:
    """One art form's line (kunstuttrykk, the stored value such as «musikk»)."""

    art_form: str
    """The production's art form as stored (storage.models.ArtForm values); show via _()."""
    held: int
    """Held performances of productions of this art form."""
    cancelled: int
    """Cancelled performances."""
    productions: int
    """Distinct productions with at least one held performance."""
    attendances: int
    """Pupil attendances over the held performances."""


@dataclass(frozen=True)
class GradeBandFigures:
    """One grade band's line. A performance for grades across bands (e.g. 1.–7.) counts as a
    performance in each band it reaches, and its pupils are shared between those bands in
    proportion to how many of its grades fall in each (so attendances add up to the total;
    performances may add up to more)."""

    band: str
    """BAND_1_4, BAND_5_7, BAND_8_10, BAND_VG or BAND_NONE (show via _())."""
    held: int
    """Held performances reaching this band."""
    attendances: int
    """This band's share of the pupil attendances."""


@dataclass(frozen=True)
class SchoolFigures:
    """A school with at least one performance in the year (held or cancelled)."""

    school_id: int
    name: str | None
    """The school's name in the directory now (a renamed school shows its new name); None if
    its row is gone (show _(UNKNOWN_SCHOOL), «ukjent skole»)."""
    municipality: str | None
    held: int
    """Held performances at the school."""
    cancelled: int
    """Cancelled performances at the school."""
    planned: int
    """Performances at the school not ended yet (only in the current year)."""
    attendances: int
    """Pupil attendances at the school."""


@dataclass(frozen=True)
class SchoolRef:
    """A school in the directory (for «schools with no DKS visit»)."""

    school_id: int
    name: str
    municipality: str | None


@dataclass(frozen=True)
class ArtFormRatings:
    """Feedback on one art form's held performances of the year."""

    art_form: str
    answers: int
    """Answers received."""
    answered_performances: int
    """Held performances with at least one answer."""
    held: int
    """Held performances (the response rate's denominator)."""
    averages: Mapping[str, float | None]
    """Average rating 1–5 per question key (storage.feedback.QUESTION_KEYS); None: no answers."""

    @property
    def response_rate(self) -> float | None:
        """Share of held performances with at least one answer; None when none was held."""
        return self.answered_performances / self.held if self.held else None


@dataclass(frozen=True)
class ProductionRating:
    """A production among the lowest rated (by «Helhetsinntrykk», then the other questions)."""

    production_id: int
    title: str
    art_form: str
    answers: int
    averages: Mapping[str, float | None]
    """Average rating per question key."""


@dataclass(frozen=True)
class ReportComment:
    """One comment from an answer to a performance of the year (coordinators only)."""

    production: str
    school: str | None
    """None if the school's row is gone (show _(UNKNOWN_SCHOOL))."""
    day: date
    """The performance's local date."""
    question: str | None
    """The question key (storage.feedback.QUESTION_KEYS); None for the free comment."""
    text: str
    author: str | None
    """The Slack user id of the sender; None for an anonymous answer (shown «anonym»)."""


@dataclass(frozen=True)
class FeedbackFigures:
    """What the evaluations said about the year's held performances."""

    answers: int
    """Answers to held performances of the year."""
    answered_performances: int
    """Held performances with at least one answer."""
    held: int
    """Held performances of the year (the response rate's denominator)."""
    averages: Mapping[str, float | None]
    """Average rating 1–5 per question key, over every answer; None: no answers."""
    per_art_form: tuple[ArtFormRatings, ...]
    """Per art form with held performances, in ArtForm order."""
    lowest_rated: tuple[ProductionRating, ...]
    """Up to LOWEST_RATED_LIMIT productions with ≥ min_answers answers, lowest first."""
    min_answers: int
    """The answers a production needs to be ranked (MIN_ANSWERS_FOR_RANKING)."""
    comments: tuple[ReportComment, ...]
    """The newest COMMENT_LIMIT comments (one per comment field filled in), newest first."""
    comments_total: int
    """How many comments there are in all (the feedback export has every one)."""

    @property
    def response_rate(self) -> float | None:
        """Share of held performances with at least one answer; None when none was held."""
        return self.answered_performances / self.held if self.held else None


@dataclass(frozen=True)
class MonthFigures:
    """One month of the year's timeline (by local start date)."""

    month: int
    """1–12."""
    held: int
    cancelled: int
    planned: int
    attendances: int


@dataclass(frozen=True)
class AnnualReport:
    """A workspace's figures for one calendar year."""

    team_id: str
    year: int
    generated_at: datetime
    """When the figures were computed (UTC); «held» means ended before this instant."""
    timezone: str
    """The time zone the year's boundaries and months were taken in (e.g. Europe/Oslo)."""
    totals: Totals
    art_forms: tuple[ArtFormFigures, ...]
    """Art forms with any performance in the year, in ArtForm order (others after)."""
    grade_bands: tuple[GradeBandFigures, ...]
    """1–4, 5–7, 8–10 always; VG only if the year's tour plan has VG rows; «uten trinn» only
    if some held performance has no grades."""
    schools: tuple[SchoolFigures, ...]
    """Schools with performances in the year, by municipality and name."""
    schools_without_visit: tuple[SchoolRef, ...]
    """Schools in the directory without a held performance in the year, by municipality and
    name (a school whose only performances were cancelled is among them)."""
    feedback: FeedbackFigures
    timeline: tuple[MonthFigures, ...]
    """Twelve months, January first."""

    @property
    def is_empty(self) -> bool:
        """No performance at all (held, cancelled or planned) in the year."""
        t = self.totals
        return not (t.held or t.cancelled or t.planned)


def default_report_year(today: date) -> int:
    """The year `/dks rapport` reports without one: the last complete calendar year (the
    county's reporting, opening in January and due in February, is for the year before)."""
    return today.year - 1


# --- Grade bands -------------------------------------------------------------------------------

# One comma-separated piece of a stored «trinn»: «5.», «5.–7.», «VG1», «VG1–VG3».
_GRADE_PIECE = re.compile(r"(VG)?(\d{1,2})\.?(?:\s*[–-]\s*(VG)?(\d{1,2})\.?)?", re.IGNORECASE)


def grade_numbers(grade_levels: str | None) -> list[int]:
    """«5.–7.» → [5, 6, 7]; «1., 3., 5.» → [1, 3, 5]; «VG1–VG3» → [11, 12, 13]; [] if none."""
    if not grade_levels:
        return []
    grades: set[int] = set()
    for piece in grade_levels.split(","):
        match = _GRADE_PIECE.fullmatch(piece.strip())
        if not match:
            return []
        vg_first, first_raw, vg_last, last_raw = match.groups()
        first = int(first_raw) + (10 if vg_first else 0)
        last = first if last_raw is None else int(last_raw) + (10 if vg_last or vg_first else 0)
        if not 1 <= first <= last <= 13:
            return []
        grades.update(range(first, last + 1))
    return sorted(grades)


def _band(grade: int) -> str:
    if grade <= 4:
        return BAND_1_4
    if grade <= 7:
        return BAND_5_7
    return BAND_8_10 if grade <= 10 else BAND_VG


def band_shares(grade_levels: str | None) -> dict[str, int]:
    """How many of a tour plan row's grades fall in each band: «1.–7.» → {1–4: 4, 5–7: 3};
    no grades → {«uten trinn»: 1}."""
    shares: dict[str, int] = {}
    for grade in grade_numbers(grade_levels):
        shares[_band(grade)] = shares.get(_band(grade), 0) + 1
    return shares or {BAND_NONE: 1}


def split_whole(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """`total` shared in proportion to `weights` in whole numbers that add up to `total`
    (largest remainder; a tie goes to the key named first)."""
    whole = sum(weights.values())
    exact = {k: total * w / whole for k, w in weights.items()}
    parts = {k: int(v) for k, v in exact.items()}
    keys = list(weights)
    for key in sorted(keys, key=lambda k: (parts[k] - exact[k], keys.index(k)))[
        : total - sum(parts.values())
    ]:
        parts[key] += 1
    return parts


# --- The year's bounds and shared expressions ----------------------------------------------


def _n(value: Any) -> int:
    return int(value or 0)


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)


@dataclass(frozen=True)
class _Year:
    start: datetime
    end: datetime
    month_starts: tuple[datetime, ...]  # UTC instants of 1 February … 1 December, local
    now: datetime

    @classmethod
    def of(cls, year: int, tz: ZoneInfo, now: datetime) -> _Year:
        return cls(
            start=local_to_utc(date(year, 1, 1), time(), tz),
            end=local_to_utc(date(year + 1, 1, 1), time(), tz),
            month_starts=tuple(local_to_utc(date(year, m, 1), time(), tz) for m in range(2, 13)),
            now=as_utc(now),
        )

    def performances(self, team_id: str) -> list[Any]:
        """The workspace's performances starting in the year."""
        return [
            col(Performance.team_id) == team_id,
            col(Performance.starts_at) >= self.start,
            col(Performance.starts_at) < self.end,
        ]

    @property
    def held(self) -> Any:
        return and_(col(Performance.cancelled).is_(False), col(Performance.ends_at) <= self.now)

    @property
    def planned(self) -> Any:
        return and_(col(Performance.cancelled).is_(False), col(Performance.ends_at) > self.now)

    @property
    def month(self) -> Any:
        """1–12 by the local month the performance starts in; a plain CASE over the months'
        UTC bounds, so both backends agree without time zone functions."""
        starts = col(Performance.starts_at)
        return case(
            *((starts < bound, month) for month, bound in enumerate(self.month_starts, 1)),
            else_=12,
        )


def _of_performances(where: Sequence[Any]) -> Any:
    """Answers to the performances matching `where`, as a semi-join (IN) on the answer's
    performance id rather than a join: the answers are scanned once and checked against the
    set, instead of looking each performance up (SQLite: 0.1 s instead of 0.45 s for 100,000
    answers). The «+ 0» keeps SQLite from driving the query by the id index instead; on
    PostgreSQL it is a hash semi-join either way."""
    return (col(FeedbackAnswer.performance_id) + 0).in_(
        sa_select(col(Performance.id)).where(*where)
    )


def _reported_pupils(team_id: str, span: _Year) -> Any:
    """(performance_id, pupils) for the year's performances whose answers report pupils
    present: the median of the reported numbers (for an even count the two middle ones' mean,
    rounded half up). Window functions: SQLite ≥ 3.25 and PostgreSQL."""
    value = col(FeedbackAnswer.pupils_attended)
    performance = col(FeedbackAnswer.performance_id)
    ranked = (
        sa_select(
            performance.label("performance_id"),
            value.label("v"),
            func.row_number()
            .over(partition_by=performance, order_by=(value, col(FeedbackAnswer.id)))
            .label("rn"),
            func.count().over(partition_by=performance).label("n"),
        )
        .where(
            col(FeedbackAnswer.team_id) == team_id,
            value.is_not(None),
            _of_performances(span.performances(team_id)),
        )
        .subquery("ranked")
    )
    # Integer division on both backends: the middle row (n odd) or the middle two (n even).
    middle = and_(ranked.c.rn >= (ranked.c.n + 1) // 2, ranked.c.rn <= (ranked.c.n + 2) // 2)
    return (
        sa_select(
            ranked.c.performance_id,
            ((func.min(ranked.c.v) + func.max(ranked.c.v) + 1) // 2).label("pupils"),
        )
        .where(middle)
        .group_by(ranked.c.performance_id)
        .subquery("reported")
    )


def _year_performances(team_id: str, span: _Year) -> Any:
    """The year's performances, one row each with its art form, month, state and pupils: a
    CTE the groupings read, MATERIALIZED so the median over the answers runs once."""
    reported = _reported_pupils(team_id, span)
    held = span.held
    expected = col(Performance.expected_pupils)
    pupils = reported.c.pupils
    return (
        sa_select(
            col(Performance.production_id).label("production_id"),
            col(Performance.school_id).label("school_id"),
            col(Production.art_form).label("art_form"),
            col(Performance.grade_levels).label("grade_levels"),
            span.month.label("month"),
            _flag(held).label("held"),
            _flag(col(Performance.cancelled).is_(True)).label("cancelled"),
            _flag(span.planned).label("planned"),
            case((held, func.coalesce(pupils, expected, 0)), else_=0).label("pupils"),
            _flag(and_(held, pupils.is_not(None))).label("from_feedback"),
            _flag(and_(held, pupils.is_(None), expected.is_not(None))).label("from_tourplan"),
            _flag(and_(held, pupils.is_(None), expected.is_(None))).label("unknown"),
        )
        .select_from(Performance)
        .join(Production, col(Production.id) == col(Performance.production_id))
        .outerjoin(reported, reported.c.performance_id == col(Performance.id))
        .where(*span.performances(team_id))
        .cte("year_performance")
        .prefix_with("MATERIALIZED")
    )


# What each row of the one grouping statement holds, after (kind, text key, text key, number).
_SUMMED = ("held", "cancelled", "planned", "pupils", "from_feedback", "from_tourplan", "unknown")


@dataclass(frozen=True)
class _Group:
    art_form: str | None
    grade_levels: str | None
    number: int  # the month, the school id, or (productions) the count of held productions
    sums: Mapping[str, int]


def _groups(session: Session, team_id: str, span: _Year) -> dict[str, list[_Group]]:
    """One statement, three groupings of the year's performances (UNION ALL): by art form,
    grades and month («g»); by school («s»); held productions per art form («p»)."""
    per = _year_performances(team_id, span)
    no_text = sa_null().cast(String)
    sums = [func.sum(per.c[name]) for name in _SUMMED]
    zeros = [literal(0, Integer) for _ in _SUMMED]
    statement = union_all(
        sa_select(literal("g"), per.c.art_form, per.c.grade_levels, per.c.month, *sums).group_by(
            per.c.art_form, per.c.grade_levels, per.c.month
        ),
        sa_select(literal("s"), no_text, no_text, per.c.school_id, *sums).group_by(per.c.school_id),
        sa_select(
            literal("p"),
            per.c.art_form,
            no_text,
            func.count(func.distinct(per.c.production_id)),
            *zeros,
        )
        .where(per.c.held == 1)
        .group_by(per.c.art_form),
    )
    found: dict[str, list[_Group]] = {"g": [], "s": [], "p": []}
    for kind, art_form, grades, number, *values in session.execute(statement):
        found[kind].append(
            _Group(
                art_form=art_form,
                grade_levels=grades,
                number=_n(number),
                sums={k: _n(v) for k, v in zip(_SUMMED, values, strict=True)},
            )
        )
    return found


# --- The figures ----------------------------------------------------------------------------------


def _art_form_key(art_form: str) -> tuple[int, str]:
    known = [a.value for a in ArtForm]
    return (known.index(art_form) if art_form in known else len(known), art_form)


def _total(groups: Sequence[_Group], name: str) -> int:
    return sum(g.sums[name] for g in groups)


def _by_art_form(groups: Sequence[_Group], productions: Sequence[_Group]) -> list[ArtFormFigures]:
    held_productions = {g.art_form: g.number for g in productions}
    arts = sorted({str(g.art_form) for g in groups}, key=_art_form_key)
    return [
        ArtFormFigures(
            art_form=art,
            held=_total(mine, "held"),
            cancelled=_total(mine, "cancelled"),
            productions=held_productions.get(art, 0),
            attendances=_total(mine, "pupils"),
        )
        for art in arts
        for mine in [[g for g in groups if g.art_form == art]]
    ]


def _by_grade_band(groups: Sequence[_Group]) -> list[GradeBandFigures]:
    """Each distinct «trinn» text's held performances and pupils, shared out into bands."""
    by_text: dict[str | None, list[int]] = {}
    for g in groups:
        held_pupils = by_text.setdefault(g.grade_levels, [0, 0])
        held_pupils[0] += g.sums["held"]
        held_pupils[1] += g.sums["pupils"]
    held: dict[str, int] = {}
    pupils: dict[str, int] = {}
    has_vg = False
    for text_, (held_n, pupils_n) in by_text.items():
        shares = band_shares(text_)
        has_vg = has_vg or BAND_VG in shares
        if not held_n:
            continue
        for band, share in split_whole(pupils_n, shares).items():
            held[band] = held.get(band, 0) + held_n
            pupils[band] = pupils.get(band, 0) + share
    bands = [
        *GRADE_BANDS[:3],
        *([BAND_VG] if has_vg else []),
        *([BAND_NONE] if BAND_NONE in held else []),
    ]
    return [
        GradeBandFigures(band=b, held=held.get(b, 0), attendances=pupils.get(b, 0)) for b in bands
    ]


def _by_month(groups: Sequence[_Group]) -> list[MonthFigures]:
    return [
        MonthFigures(
            month=m,
            held=_total(mine, "held"),
            cancelled=_total(mine, "cancelled"),
            planned=_total(mine, "planned"),
            attendances=_total(mine, "pupils"),
        )
        for m in range(1, 13)
        for mine in [[g for g in groups if g.number == m]]
    ]


def _name_key(name: str | None, municipality: str | None) -> tuple[bool, str, bool, str]:
    return (municipality is None, fold(municipality or ""), name is None, fold(name or ""))


def _by_school(
    session: Session, team_id: str, groups: Sequence[_Group]
) -> tuple[list[SchoolFigures], list[SchoolRef], int]:
    """Schools with performances in the year; the directory's schools with none held; and how
    many schools the directory has. A performance whose school row is gone keeps its line,
    named None (the bot refuses to delete a school with performances, but the figures never
    drop one); a renamed school shows its name now."""
    directory = {
        int(r[0]): SchoolRef(school_id=int(r[0]), name=str(r[1]), municipality=r[2])
        for r in session.execute(
            sa_select(col(School.id), col(School.name), col(Municipality.name))
            .outerjoin(Municipality, col(Municipality.id) == col(School.municipality_id))
            .where(col(School.team_id) == team_id)
        )
    }
    schools = sorted(
        (
            SchoolFigures(
                school_id=g.number,
                name=ref.name if ref else None,
                municipality=ref.municipality if ref else None,
                held=g.sums["held"],
                cancelled=g.sums["cancelled"],
                planned=g.sums["planned"],
                attendances=g.sums["pupils"],
            )
            for g in groups
            for ref in [directory.get(g.number)]
        ),
        key=lambda s: _name_key(s.name, s.municipality),
    )
    visited = {s.school_id for s in schools if s.held}
    without = sorted(
        (s for s in directory.values() if s.school_id not in visited),
        key=lambda s: _name_key(s.name, s.municipality),
    )
    return schools, without, len(directory)


# --- Feedback -------------------------------------------------------------------------------------

_COMMENT_FIELDS: tuple[tuple[str | None, str], ...] = (
    *((q, f"comment_{q}") for q in QUESTION_KEYS),
    (None, "free_comment"),
)


def _has_text(field_name: str) -> Any:
    column = col(getattr(FeedbackAnswer, field_name))
    return and_(column.is_not(None), column != "")


def _held_answers(team_id: str, span: _Year, *columns: Any) -> Any:
    """SELECT `columns` over the answers to the year's held performances."""
    return (
        sa_select(*columns)
        .select_from(FeedbackAnswer)
        .where(
            col(FeedbackAnswer.team_id) == team_id,
            _of_performances([*span.performances(team_id), span.held]),
        )
    )


@dataclass(frozen=True)
class _Answers:
    """One production's answers to the year's held performances."""

    production_id: int
    title: str
    art_form: str
    answers: int
    answered_performances: int
    rating_sums: tuple[int, ...]  # per question, QUESTION_KEYS order


def _averages(sums: Sequence[int], answers: int) -> dict[str, float | None]:
    return {q: (v / answers if answers else None) for q, v in zip(QUESTION_KEYS, sums, strict=True)}


def _per_production(session: Session, team_id: str, span: _Year) -> list[_Answers]:
    """One pass over the answers, grouped by production (a few thousand rows), then joined to
    the productions: the art forms' figures and the lowest rated come from it. Every column
    it reads is in ix_feedbackanswer_team_production, so it reads that index, not the rows."""
    production = col(FeedbackAnswer.production_id)
    grouped = (
        _held_answers(
            team_id,
            span,
            production.label("production_id"),
            func.count().label("answers"),
            # A performance belongs to one production: these add up across productions.
            func.count(func.distinct(col(FeedbackAnswer.performance_id))).label("answered"),
            *(
                func.sum(col(getattr(FeedbackAnswer, f"rating_{q}"))).label(q)
                for q in QUESTION_KEYS
            ),
        )
        .group_by(production)
        .subquery("per_production")
    )
    stmt = sa_select(grouped, col(Production.title), col(Production.art_form)).join(
        Production, col(Production.id) == grouped.c.production_id
    )
    return [
        _Answers(
            production_id=int(r.production_id),
            title=str(r.title),
            art_form=str(r.art_form),
            answers=_n(r.answers),
            answered_performances=_n(r.answered),
            rating_sums=tuple(_n(getattr(r, q)) for q in QUESTION_KEYS),
        )
        for r in session.execute(stmt)
    ]


def _sum_ratings(rows: Sequence[_Answers]) -> tuple[int, ...]:
    return tuple(sum(r.rating_sums[i] for r in rows) for i in range(len(QUESTION_KEYS)))


def _feedback(
    session: Session,
    team_id: str,
    span: _Year,
    tz: ZoneInfo,
    art_forms: Sequence[ArtFormFigures],
) -> FeedbackFigures:
    rows = _per_production(session, team_id, span)
    per_art_form = tuple(
        ArtFormRatings(
            art_form=a.art_form,
            answers=sum(r.answers for r in mine),
            answered_performances=sum(r.answered_performances for r in mine),
            held=a.held,
            averages=_averages(_sum_ratings(mine), sum(r.answers for r in mine)),
        )
        for a in art_forms
        if a.held
        for mine in [[r for r in rows if r.art_form == a.art_form]]
    )
    ranked = [r for r in rows if r.answers >= MIN_ANSWERS_FOR_RANKING]
    # Lowest «Helhetsinntrykk» first, then the lowest mean over every question; then by title.
    ranked.sort(
        key=lambda r: (
            r.rating_sums[0] / r.answers,
            sum(r.rating_sums) / r.answers,
            fold(r.title),
            r.production_id,
        )
    )
    answers = sum(r.answers for r in rows)
    comments, comments_total = _comments(session, team_id, span, tz)
    return FeedbackFigures(
        answers=answers,
        answered_performances=sum(r.answered_performances for r in rows),
        held=sum(a.held for a in art_forms),
        averages=_averages(_sum_ratings(rows), answers),
        per_art_form=per_art_form,
        lowest_rated=tuple(
            ProductionRating(
                production_id=r.production_id,
                title=r.title,
                art_form=r.art_form,
                answers=r.answers,
                averages=_averages(r.rating_sums, r.answers),
            )
            for r in ranked[:LOWEST_RATED_LIMIT]
        ),
        min_answers=MIN_ANSWERS_FOR_RANKING,
        comments=comments,
        comments_total=comments_total,
    )


def _comments(
    session: Session, team_id: str, span: _Year, tz: ZoneInfo
) -> tuple[tuple[ReportComment, ...], int]:
    """The newest COMMENT_LIMIT comments (newest answer first, in the form's question order)
    and how many comments there are in all. The newest answers with a comment are found
    first; only they are joined to their names."""
    filled = [_flag(_has_text(f)) for _, f in _COMMENT_FIELDS]
    newest = (
        _held_answers(
            team_id,
            span,
            col(FeedbackAnswer.id).label("id"),
            col(FeedbackAnswer.performance_id).label("performance_id"),
            col(FeedbackAnswer.production_id).label("production_id"),
            col(FeedbackAnswer.updated_at).label("updated_at"),
            col(FeedbackAnswer.anonymous).label("anonymous"),
            col(FeedbackAnswer.user_id).label("user_id"),
            *(col(getattr(FeedbackAnswer, f)).label(f) for _, f in _COMMENT_FIELDS),
        )
        .where(or_(*(_has_text(f) for _, f in _COMMENT_FIELDS)))
        .order_by(col(FeedbackAnswer.updated_at).desc(), col(FeedbackAnswer.id).desc())
        .limit(COMMENT_LIMIT)
        .subquery("newest")
    )
    stmt = (
        sa_select(
            col(Production.title),
            col(School.name),
            col(Performance.starts_at),
            newest.c.anonymous,
            newest.c.user_id,
            *(newest.c[f] for _, f in _COMMENT_FIELDS),
        )
        .select_from(newest)
        .join(Performance, col(Performance.id) == newest.c.performance_id)
        .join(Production, col(Production.id) == newest.c.production_id)
        .outerjoin(School, col(School.id) == col(Performance.school_id))
        .order_by(newest.c.updated_at.desc(), newest.c.id.desc())
    )
    found: list[ReportComment] = []
    for title, school, starts_at, anonymous, user_id, *texts in session.execute(stmt):
        day = as_utc(starts_at).astimezone(tz).date()
        for (question, _), text_ in zip(_COMMENT_FIELDS, texts, strict=True):
            if text_:
                found.append(
                    ReportComment(
                        production=title,
                        school=school,
                        day=day,
                        question=question,
                        text=text_,
                        author=None if anonymous else user_id,
                    )
                )
    # Counted apart: a window count in the query above would keep SQLite from taking only
    # the newest rows (a top-N sort) and make it sort every commented answer.
    in_all = session.execute(
        _held_answers(team_id, span, func.sum(sum(filled[1:], filled[0]))).where(
            or_(*(_has_text(f) for _, f in _COMMENT_FIELDS))
        )
    ).scalar()
    return tuple(found[:COMMENT_LIMIT]), _n(in_all)


# --- The report -----------------------------------------------------------------------------------


# SQLite reads the report's pages through a memory map while it runs (bytes): with the
# default page cache (2 MB) the year's 100,000 answers and 50,000 performances come from the
# OS a page at a time, some more than once; mapped, they are read in place (1.9 → 1.4 s CPU at
# national scale). Unmapped afterwards: mapped pages count in a process's RSS, and a larger
# page cache would stay in the worker's heap after the report.
REPORT_MMAP_BYTES = 1 << 30


@contextmanager
def _mapped(session: Session) -> Iterator[None]:
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    before = int(connection.exec_driver_sql("PRAGMA mmap_size").scalar() or 0)
    connection.exec_driver_sql(f"PRAGMA mmap_size={REPORT_MMAP_BYTES}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA mmap_size={before}")


def annual_report(
    *,
    session: Session,
    team_id: str,
    year: int,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> AnnualReport:
    """The year's figures for `team_id`: one statement over the year's performances (three
    groupings), the directory's schools, one pass over the answers, and the newest comments.
    `now` (default: the current time) decides which performances have ended."""
    moment = as_utc(now) if now is not None else datetime.now(UTC)
    span = _Year.of(year, tz, moment)
    with _mapped(session):
        groups = _groups(session, team_id, span)
        feedback = _feedback(session, team_id, span, tz, _by_art_form(groups["g"], groups["p"]))
    art_forms = _by_art_form(groups["g"], groups["p"])
    schools, without, directory = _by_school(session, team_id, groups["s"])
    g = groups["g"]
    totals = Totals(
        held=_total(g, "held"),
        cancelled=_total(g, "cancelled"),
        planned=_total(g, "planned"),
        # A production has one art form: the art forms' held productions add up.
        productions=sum(a.productions for a in art_forms),
        attendances=_total(g, "pupils"),
        attendances_from_feedback=_total(g, "from_feedback"),
        attendances_from_tourplan=_total(g, "from_tourplan"),
        attendances_unknown=_total(g, "unknown"),
        schools_reached=len([s for s in schools if s.held]),
        schools_in_directory=directory,
    )
    return AnnualReport(
        team_id=team_id,
        year=year,
        generated_at=moment,
        timezone=tz.key,
        totals=totals,
        art_forms=tuple(art_forms),
        grade_bands=tuple(_by_grade_band(g)),
        schools=tuple(schools),
        schools_without_visit=tuple(without),
        feedback=feedback,
        timeline=tuple(_by_month(g)),
    )
