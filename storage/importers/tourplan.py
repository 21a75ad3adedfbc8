"""The tour plan CSV (`dks-bot import turneplan FILE.csv`): parse, validate, upsert.

One row per performance. Columns (header names are case- and accent-insensitive, any order;
README.md, «Turneplan», documents them and data/turneplan-eksempel.csv is a sample):

    forestilling_id  required  the tour plan's id for the performance; re-imports match on it
    produksjon       required  the production's title; rows with the same title share it
    kunstuttrykk     required  musikk, scenekunst, visuell kunst, film, litteratur, kulturarv
                               or tverrkunstnerisk
    utøver           optional  producer or performer (also «produsent»)
    beskrivelse      optional  the production's description
    skole            required  the school
    kommune          optional  the school's municipality (needed when two share a name)
    dato             required  24.11.2026 or 2026-11-24
    start, slutt     required  09:00 or 09.00, local time (BOT_TIMEZONE)
    sted             optional  venue, e.g. «gymsalen»
    trinn            optional  grade levels: 5-7, «5.–7.», «1, 3, 5», VG1–VG3
    elever           optional  expected number of pupils, 0–5000
    avlyst           optional  ja / nei

Semicolon (Excel in Norway), comma and tab separators all work; UTF-8 (with or without BOM)
and Windows-1252 both decode. Every problem is reported with its line number, and nothing is
written unless the whole file is valid. Re-importing the same file changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from handlers.core.i18n import _, ngettext
from storage.changes import Resolution, resolve_after_import
from storage.feedback import PromptSync, sync_prompts
from storage.folding import fold
from storage.importers.calendar import close_name
from storage.models import ArtForm, Municipality, Performance, Production, School
from storage.text import xml_safe
from storage.tourplan import as_utc, bump_tourplan_version, local_to_utc, performance_search_key

__all__ = [
    "COLUMNS",
    "REQUIRED_COLUMNS",
    "TourplanData",
    "TourplanImportError",
    "TourplanResult",
    "TourplanRow",
    "import_tourplan",
    "load_tourplan",
    "parse_tourplan",
]


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return _("Linje %(line)d: %(message)s") % {"line": self.line, "message": self.message}


class TourplanImportError(Exception):
    """The file has problems; `errors` lists every one, sorted by line."""

    def __init__(self, errors: Iterable[RowError]) -> None:
        self.errors: list[RowError] = sorted(errors, key=lambda e: e.line)
        super().__init__(*self.errors)

    def __str__(self) -> str:
        count = len(self.errors)
        header = ngettext("Turneplanen har %(n)d feil:", "Turneplanen har %(n)d feil:", count)
        header %= {"n": count}
        return "\n".join([header, *(f"  {e}" for e in self.errors)])


# Canonical column name → accepted spellings (folded).
COLUMNS: dict[str, tuple[str, ...]] = {
    "forestilling_id": ("forestilling_id", "forestillingsid", "forestilling id", "id"),
    "produksjon": ("produksjon", "tittel"),
    "kunstuttrykk": ("kunstuttrykk", "kunstform", "uttrykk"),
    "utøver": ("utover", "produsent", "utover/produsent", "produsent/utover", "aktor"),
    "beskrivelse": ("beskrivelse",),
    "skole": ("skole",),
    "kommune": ("kommune",),
    "dato": ("dato",),
    "start": ("start", "starttid", "fra"),
    "slutt": ("slutt", "sluttid", "til"),
    "sted": ("sted", "lokale", "spillested"),
    "trinn": ("trinn", "klassetrinn"),
    "elever": ("elever", "antall elever", "antall_elever", "forventet antall elever"),
    "avlyst": ("avlyst",),
}
REQUIRED_COLUMNS = (
    "forestilling_id",
    "produksjon",
    "kunstuttrykk",
    "skole",
    "dato",
    "start",
    "slutt",
)
_BY_SPELLING = {spelling: name for name, spellings in COLUMNS.items() for spelling in spellings}

_ART_FORMS = {fold(a.value): a for a in ArtForm}
_ART_FORMS.update({"visuellkunst": ArtForm.VISUAL_ARTS, "visuell": ArtForm.VISUAL_ARTS})
_YES = {"ja", "j", "x", "yes", "true", "1", "avlyst"}
_NO = {"nei", "n", "no", "false", "0", ""}
_DATE_NO = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_DATE_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_TIME = re.compile(r"(\d{1,2})[:.](\d{2})")
_GRADE_PART = re.compile(r"(vg\s*[1-3]|\d{1,2})\.?(?:\s*[-–]\s*(vg\s*[1-3]|\d{1,2})\.?)?")
MAX_PUPILS = 5000
MAX_FILE_BYTES = 20 * 1024 * 1024

_LIMITS = {
    "forestilling_id": 100,
    "produksjon": 200,
    "utøver": 200,
    "beskrivelse": 2000,
    "skole": 200,
    "kommune": 200,
    "sted": 200,
}


@dataclass(frozen=True)
class TourplanRow:
    line: int
    external_key: str
    title: str
    art_form: ArtForm
    producer: str | None
    description: str | None
    school: str
    municipality: str | None
    day: date
    start: time
    end: time
    venue: str | None
    grade_levels: str | None
    expected_pupils: int | None
    cancelled: bool


@dataclass(frozen=True)
class TourplanData:
    rows: tuple[TourplanRow, ...]


@dataclass
class TourplanResult:
    productions_created: int = 0
    productions_updated: int = 0
    performances_created: int = 0
    performances_updated: int = 0
    performances_unchanged: int = 0
    schools_created: int = 0
    # Performances whose time, school or status changed (or are new): their prompts are redone.
    changed_performance_ids: list[int] = field(default_factory=list)
    # Of those, the ones this import created (a performance back under a new forestilling_id
    # is among them: storage.changes lists it as a candidate, never matches it).
    created_performance_ids: list[int] = field(default_factory=list)
    prompts: PromptSync = field(default_factory=PromptSync)
    # Change requests this import resolved, and those it could not (storage.changes).
    resolution: Resolution = field(default_factory=Resolution)

    @property
    def changed(self) -> bool:
        return bool(
            self.productions_created
            or self.productions_updated
            or self.performances_created
            or self.performances_updated
            or self.schools_created
        )

    def __str__(self) -> str:
        """«1 ny forestilling, 0 endret, 2 uendret; 1 ny produksjon, 0 endret; 0 nye skoler.
        3 spørsmål og purringer planlagt.»: each noun agrees with its count."""
        performances = ngettext(
            "%(n)d ny forestilling", "%(n)d nye forestillinger", self.performances_created
        ) % {"n": self.performances_created}
        productions = ngettext(
            "%(n)d ny produksjon", "%(n)d nye produksjoner", self.productions_created
        ) % {"n": self.productions_created}
        schools = ngettext("%(n)d ny skole", "%(n)d nye skoler", self.schools_created) % {
            "n": self.schools_created
        }
        prompts = ngettext(
            "%(n)d spørsmål eller purring planlagt.",
            "%(n)d spørsmål og purringer planlagt.",
            self.prompts.scheduled,
        ) % {"n": self.prompts.scheduled}
        return _(
            "%(performances)s, %(performances_updated)d endret, %(unchanged)d uendret; "
            "%(productions)s, %(productions_updated)d endret; %(schools)s. %(prompts)s"
        ) % {
            "performances": performances,
            "performances_updated": self.performances_updated,
            "unchanged": self.performances_unchanged,
            "productions": productions,
            "productions_updated": self.productions_updated,
            "schools": schools,
            "prompts": prompts,
        }


# --- Parsing -----------------------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # Excel on Windows saves «CSV (semikolondelt)» as Windows-1252.
        return raw.decode("cp1252", errors="replace")


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ";"


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"«{n}»" for n in names)


def _unknown_column(raw: str) -> str:
    """An unknown column, with the spelling the user was close to (a column name is a file
    format word: the same in every language), or else every column there is."""
    close = close_name(fold(raw), _BY_SPELLING)
    if close:
        # The spelling the header came close to; the column's own name if it is that word
        # written without accents («utover» is «utøver»).
        name = _BY_SPELLING[close]
        shown = name if fold(name) == close else close
        return _("Ukjent kolonne «%(raw)s». Mente du «%(name)s»?") % {"raw": raw, "name": shown}
    return _("Ukjent kolonne «%(raw)s». Kolonnene som finnes: %(names)s.") % {
        "raw": raw,
        "names": _quoted(COLUMNS),
    }


def parse_date(value: str) -> date | None:
    match = _DATE_NO.fullmatch(value)
    if match:
        d, m, y = (int(g) for g in match.groups())
    else:
        match = _DATE_ISO.fullmatch(value)
        if not match:
            return None
        y, m, d = (int(g) for g in match.groups())
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _parse_time(value: str) -> time | None:
    match = _TIME.fullmatch(value)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _grade(token: str) -> int | None:
    token = token.replace(" ", "")
    if token.startswith("vg"):
        return 10 + int(token[2:])
    number = int(token)
    return number if 1 <= number <= 13 else None


def _grade_name(grade: int) -> str:
    return f"VG{grade - 10}" if grade > 10 else f"{grade}."


def parse_grades(value: str) -> str | None:
    """«5-7», «5.–7. trinn», «1, 3, 5», «VG1-VG3» → «5.–7.», «1., 3., 5.», «VG1–VG3».

    None when the text is not grade levels.
    """
    text = fold(value).removesuffix("trinn").strip().rstrip(",")
    if not text:
        return None
    parts: list[str] = []
    for piece in re.split(r"[,/]|\s+og\s+", text):
        piece = piece.strip()
        match = _GRADE_PART.fullmatch(piece)
        if not match:
            return None
        first = _grade(match.group(1))
        last = _grade(match.group(2)) if match.group(2) else first
        if first is None or last is None or last < first:
            return None
        parts.append(
            _grade_name(first) if first == last else f"{_grade_name(first)}–{_grade_name(last)}"
        )
    return ", ".join(parts)


class _Row:
    def __init__(self, line: int, values: dict[str, str], errors: list[RowError]) -> None:
        self.line = line
        self.values = values
        self.errors = errors

    def error(self, message: str) -> None:
        self.errors.append(RowError(self.line, message))

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = " ".join(self.values.get(name, "").split())
        if not value:
            if required:
                self.error(_("«%(name)s» må fylles ut.") % {"name": name})
            return None
        limit = _LIMITS.get(name)
        if limit is not None and len(value) > limit:
            self.error(
                _("«%(name)s» er for lang: %(length)d tegn, men høyst %(limit)d er lov.")
                % {"name": name, "length": len(value), "limit": limit}
            )
            return None
        return value


def parse_tourplan(raw: bytes) -> TourplanData:
    """Validate a tour plan file; raises TourplanImportError listing every problem."""
    errors: list[RowError] = []
    text = xml_safe(_decode(raw))
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    try:
        header = next(reader)
    except StopIteration:
        raise TourplanImportError(
            [RowError(1, _("Filen er tom: første linje skal være kolonnenavnene."))]
        ) from None
    columns: list[str | None] = []
    for raw_name in header:
        name = _BY_SPELLING.get(fold(raw_name))
        if not raw_name.strip():
            columns.append(None)
            continue
        if name is None:
            errors.append(RowError(1, _unknown_column(raw_name.strip())))
        elif name in columns:
            errors.append(RowError(1, _("Kolonnen «%(name)s» står to ganger.") % {"name": name}))
            name = None
        columns.append(name)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        errors.append(
            RowError(
                1,
                ngettext(
                    "Denne kolonnen mangler: %(names)s.",
                    "Disse kolonnene mangler: %(names)s.",
                    len(missing),
                )
                % {"names": _quoted(missing)},
            )
        )
    if errors:
        raise TourplanImportError(errors)

    rows: list[TourplanRow] = []
    seen_ids: dict[str, int] = {}
    productions: dict[str, tuple[int, ArtForm, str | None, str | None]] = {}
    previous_end = reader.line_num
    try:
        for record in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not any(field.strip() for field in record):
                continue
            values: dict[str, str] = {}
            extra = [v for v in record[len(columns) :] if v.strip()]
            if extra:
                errors.append(
                    RowError(
                        line,
                        _(
                            "Raden har %(fields)d felt, men overskriften har bare %(columns)d. "
                            "Står det et skilletegn for mye, eller mangler det anførselstegn?"
                        )
                        % {"fields": len(record), "columns": len(columns)},
                    )
                )
                continue
            for name, value in zip(columns, record, strict=False):
                if name is not None:
                    values[name] = value.strip()
            parsed = _parse_row(_Row(line, values, errors))
            if parsed is None:
                continue
            if parsed.external_key in seen_ids:
                errors.append(
                    RowError(
                        line,
                        _(
                            "forestilling_id «%(key)s» er brukt før, på linje %(line)d. "
                            "Hver forestilling trenger sin egen."
                        )
                        % {"key": parsed.external_key, "line": seen_ids[parsed.external_key]},
                    )
                )
                continue
            seen_ids[parsed.external_key] = line
            key = fold(parsed.title)
            earlier = productions.get(key)
            if earlier is None:
                productions[key] = (line, parsed.art_form, parsed.producer, parsed.description)
            else:
                first_line_no, art_form, producer, description = earlier
                if parsed.art_form != art_form:
                    errors.append(
                        RowError(
                            line,
                            _(
                                "«%(title)s» har kunstuttrykk «%(here)s» her, "
                                "men «%(first)s» på linje %(line)d."
                            )
                            % {
                                "title": parsed.title,
                                "here": parsed.art_form.value,
                                "first": art_form.value,
                                "line": first_line_no,
                            },
                        )
                    )
                    continue
                if parsed.producer and producer and parsed.producer != producer:
                    errors.append(
                        RowError(
                            line,
                            _(
                                "«%(title)s» har utøver «%(here)s» her, men «%(first)s» på "
                                "linje %(line)d."
                            )
                            % {
                                "title": parsed.title,
                                "here": parsed.producer,
                                "first": producer,
                                "line": first_line_no,
                            },
                        )
                    )
                    continue
                productions[key] = (
                    first_line_no,
                    art_form,
                    producer or parsed.producer,
                    description or parsed.description,
                )
            rows.append(parsed)
    except csv.Error as err:
        errors.append(
            RowError(
                reader.line_num,
                _("Filen kan ikke leses som CSV her: %(problem)s.") % {"problem": err},
            )
        )
    if errors:
        raise TourplanImportError(errors)
    if not rows:
        raise TourplanImportError(
            [RowError(2, _("Filen har ingen forestillinger under overskriften."))]
        )
    return TourplanData(rows=tuple(rows))


def _parse_row(row: _Row) -> TourplanRow | None:
    count = len(row.errors)
    external_key = row.text("forestilling_id", required=True)
    title = row.text("produksjon", required=True)
    art_raw = row.text("kunstuttrykk", required=True)
    art_form = None
    if art_raw is not None:
        art_form = _ART_FORMS.get(fold(art_raw))
        if art_form is None:
            row.error(
                _("«kunstuttrykk» må være %(words)s eller %(last)s (fikk «%(value)s»).")
                % {
                    "words": ", ".join(a.value for a in list(ArtForm)[:-1]),
                    "last": list(ArtForm)[-1].value,
                    "value": art_raw,
                }
            )
    producer = row.text("utøver")
    description = row.text("beskrivelse")
    school = row.text("skole", required=True)
    municipality = row.text("kommune")
    day = None
    if (raw_day := row.text("dato", required=True)) is not None:
        day = parse_date(raw_day)
        if day is None:
            row.error(
                _("«dato» må være en dato som 24.11.2026 eller 2026-11-24 (fikk «%(value)s»).")
                % {"value": raw_day}
            )
    start = end = None
    if (raw_start := row.text("start", required=True)) is not None:
        start = _parse_time(raw_start)
        if start is None:
            row.error(
                _("«start» må være et klokkeslett som 09:00 (fikk «%(value)s»).")
                % {"value": raw_start}
            )
    if (raw_end := row.text("slutt", required=True)) is not None:
        end = _parse_time(raw_end)
        if end is None:
            row.error(
                _("«slutt» må være et klokkeslett som 10:00 (fikk «%(value)s»).")
                % {"value": raw_end}
            )
    if start is not None and end is not None and end <= start:
        row.error(
            _("«slutt» (%(end)s) må være etter «start» (%(start)s).")
            % {"end": f"{end:%H:%M}", "start": f"{start:%H:%M}"}
        )
    venue = row.text("sted")
    grades = None
    if (raw_grades := row.text("trinn")) is not None:
        grades = parse_grades(raw_grades)
        if grades is None or len(grades) > 60:
            row.error(
                _(
                    "«trinn» må være trinn fra 1 til 10 eller VG1–VG3, som 5-7 eller «1, 3, 5» "
                    "(fikk «%(value)s»)."
                )
                % {"value": raw_grades}
            )
    pupils = None
    if (raw_pupils := row.text("elever")) is not None:
        digits = raw_pupils.replace(" ", "").replace("\u00a0", "")
        # ASCII digits only: «²».isdigit() is true, but int() refuses it.
        if not (digits.isascii() and digits.isdigit()) or int(digits) > MAX_PUPILS:
            row.error(
                _("«elever» må være et helt tall fra 0 til %(max)d (fikk «%(value)s»).")
                % {"max": MAX_PUPILS, "value": raw_pupils}
            )
        else:
            pupils = int(digits)
    cancelled = False
    raw_cancelled = fold(row.values.get("avlyst", ""))
    if raw_cancelled in _YES:
        cancelled = True
    elif raw_cancelled not in _NO:
        row.error(
            _("«avlyst» må være ja eller nei (fikk «%(value)s»).")
            % {"value": row.values.get("avlyst")}
        )
    if len(row.errors) > count:
        return None
    assert external_key and title and art_form and school and day and start and end
    return TourplanRow(
        line=row.line,
        external_key=external_key,
        title=title,
        art_form=art_form,
        producer=producer,
        description=description,
        school=school,
        municipality=municipality,
        day=day,
        start=start,
        end=end,
        venue=venue,
        grade_levels=grades,
        expected_pupils=pupils,
        cancelled=cancelled,
    )


def load_tourplan(path: str | Path) -> TourplanData:
    file = Path(path)
    if file.stat().st_size > MAX_FILE_BYTES:
        raise TourplanImportError(
            [
                RowError(
                    1,
                    _("Filen er større enn %(size)d MB.")
                    % {"size": MAX_FILE_BYTES // (1024 * 1024)},
                )
            ]
        )
    return parse_tourplan(file.read_bytes())


# --- Writing -----------------------------------------------------------------------------------


def _resolve_schools(
    session: Session, team_id: str, rows: Sequence[TourplanRow], result: TourplanResult
) -> dict[int, int]:
    """School id per row line; creates the schools and municipalities the file names."""
    municipalities = {
        fold(m.name): m
        for m in session.exec(select(Municipality).where(col(Municipality.team_id) == team_id))
    }
    schools = list(session.exec(select(School).where(col(School.team_id) == team_id)))
    muni_names = {m.id: fold(m.name) for m in municipalities.values()}
    by_name: dict[str, list[School]] = {}
    for s in schools:
        by_name.setdefault(fold(s.name), []).append(s)
    errors: list[RowError] = []
    resolved: dict[int, int] = {}
    for row in rows:
        name_key = fold(row.school)
        candidates = by_name.get(name_key, [])
        if row.municipality:
            muni_key = fold(row.municipality)
            match = [s for s in candidates if muni_names.get(s.municipality_id) == muni_key]
            if not match:
                # An unplaced school of that name gets placed rather than duplicated.
                match = [s for s in candidates if s.municipality_id is None][:1]
                municipality = municipalities.get(muni_key)
                if municipality is None:
                    municipality = Municipality(team_id=team_id, name=row.municipality)
                    session.add(municipality)
                    session.flush()
                    municipalities[muni_key] = municipality
                    muni_names[municipality.id] = muni_key
                if match:
                    match[0].municipality_id = municipality.id
                    session.add(match[0])
                else:
                    school = School(
                        team_id=team_id, name=row.school, municipality_id=municipality.id
                    )
                    session.add(school)
                    session.flush()
                    by_name.setdefault(name_key, []).append(school)
                    result.schools_created += 1
                    match = [school]
        else:
            match = candidates
            if len(match) > 1:
                places = sorted(
                    {
                        next(
                            (m.name for m in municipalities.values() if m.id == s.municipality_id),
                            _("uten kommune"),
                        )
                        for s in match
                    }
                )
                errors.append(
                    RowError(
                        row.line,
                        _(
                            "Det finnes flere skoler som heter «%(school)s» (%(places)s). "
                            "Fyll ut «kommune» så jeg vet hvilken."
                        )
                        % {"school": row.school, "places": ", ".join(places)},
                    )
                )
                continue
            if not match:
                school = School(team_id=team_id, name=row.school)
                session.add(school)
                session.flush()
                by_name.setdefault(name_key, []).append(school)
                result.schools_created += 1
                match = [school]
        assert match[0].id is not None
        resolved[row.line] = match[0].id
    if errors:
        raise TourplanImportError(errors)
    return resolved


def import_tourplan(
    *,
    session: Session,
    team_id: str,
    data: TourplanData,
    tz: ZoneInfo,
    now: datetime,
    grace: timedelta = timedelta(hours=12),
    source: str = "",
    user_id: str | None = None,
) -> TourplanResult:
    """Upsert the file's productions and performances, then settle the change requests the
    new plan answers (storage.changes.resolve_after_import, in this transaction; `source` is
    the file's name, `user_id` who imports); nothing else in the workspace changes.

    Performances missing from the file are left alone: a spring plan does not delete autumn.
    Raises TourplanImportError (before anything is kept: the caller's transaction rolls back)
    when a school name is ambiguous.
    """
    result = TourplanResult()
    school_ids = _resolve_schools(session, team_id, data.rows, result)
    municipality_of = {
        s.id: m
        for s, m in session.exec(
            select(School, Municipality.name)
            .outerjoin(Municipality, col(Municipality.id) == col(School.municipality_id))
            .where(col(School.team_id) == team_id)
        )
    }
    school_names = {
        s.id: s.name for s in session.exec(select(School).where(col(School.team_id) == team_id))
    }

    productions = {
        p.title_key: p
        for p in session.exec(select(Production).where(col(Production.team_id) == team_id))
    }
    merged: dict[str, tuple[TourplanRow, str | None, str | None]] = {}
    for row in data.rows:
        key = fold(row.title)
        first, producer, description = merged.get(key, (row, None, None))
        merged[key] = (first, producer or row.producer, description or row.description)
    for key, (first, producer, description) in merged.items():
        wanted: dict[str, Any] = {
            "title": first.title,
            "art_form": first.art_form.value,
            "producer": producer,
            "description": description,
        }
        production = productions.get(key)
        if production is None:
            production = Production(team_id=team_id, title_key=key, **wanted)
            session.add(production)
            productions[key] = production
            result.productions_created += 1
        elif any(getattr(production, k) != v for k, v in wanted.items()):
            for k, v in wanted.items():
                setattr(production, k, v)
            session.add(production)
            result.productions_updated += 1
    session.flush()

    existing = {
        p.external_key: p
        for p in session.exec(select(Performance).where(col(Performance.team_id) == team_id))
    }
    touched: list[Performance] = []
    created: list[Performance] = []
    for row in data.rows:
        production = productions[fold(row.title)]
        school_id = school_ids[row.line]
        wanted_values: dict[str, Any] = {
            "production_id": production.id,
            "school_id": school_id,
            "starts_at": local_to_utc(row.day, row.start, tz),
            "ends_at": local_to_utc(row.day, row.end, tz),
            "venue": row.venue,
            "grade_levels": row.grade_levels,
            "expected_pupils": row.expected_pupils,
            "cancelled": row.cancelled,
            "search_key": performance_search_key(
                title=production.title,
                school=school_names[school_id],
                municipality=municipality_of.get(school_id),
                day=row.day,
                venue=row.venue,
            ),
        }
        performance = existing.get(row.external_key)
        if performance is None:
            performance = Performance(
                team_id=team_id, external_key=row.external_key, **wanted_values
            )
            session.add(performance)
            touched.append(performance)
            created.append(performance)
            result.performances_created += 1
            continue
        current = {
            k: as_utc(getattr(performance, k))
            if k in ("starts_at", "ends_at")
            else getattr(performance, k)
            for k in wanted_values
        }
        if current == wanted_values:
            result.performances_unchanged += 1
            continue
        for k, v in wanted_values.items():
            setattr(performance, k, v)
        session.add(performance)
        touched.append(performance)
        result.performances_updated += 1
    session.flush()
    result.changed_performance_ids = [p.id for p in touched if p.id is not None]
    result.created_performance_ids = [p.id for p in created if p.id is not None]
    if result.changed:
        bump_tourplan_version(session=session, team_id=team_id, now=now)
    # New and changed performances get their prompt and follow-ups (or lose them if cancelled).
    result.prompts = sync_prompts(
        session=session,
        team_id=team_id,
        performance_ids=result.changed_performance_ids,
        tz=tz,
        now=now,
        grace=grace,
    )
    result.resolution = resolve_after_import(
        session=session,
        team_id=team_id,
        file_keys={row.external_key for row in data.rows},
        created_ids=result.created_performance_ids,
        file_school_ids=set(school_ids.values()),
        source=source,
        user_id=user_id,
        now=now,
        tz=tz,
    )
    return result
