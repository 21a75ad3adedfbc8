"""The DKS calendar file (data/dks-kalender.yaml): parse, validate, and upsert per workspace.

The file is YAML with Norwegian field names; the bundled file documents them at the top.
Every scalar is read as text and typed here, so YAML 1.1 surprises (``14:00`` read as a base-60
integer, ``NO`` as false, ``0047`` as an octal number) never reach the data. Validation collects
every problem with its line number, so a coordinator sees all of them at once, and nothing is
written unless the whole file is valid.
"""

from __future__ import annotations

import calendar as _calendar
import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, TextIO, TypeVar
from urllib.parse import urlsplit

import yaml
from dateutil.rrule import rrule, rrulestr
from sqlmodel import Session, SQLModel, col, select

from handlers.core.i18n import _, ngettext
from storage.contacts import contact_key
from storage.folding import fold, search_key
from storage.models import Contact, DatePrecision, Deadline, Meeting, MeetingForm
from storage.text import xml_safe

__all__ = [
    "CalendarData",
    "CalendarRow",
    "ImportResult",
    "ImportValidationError",
    "KindCounts",
    "RowError",
    "bundled_calendar_path",
    "import_calendar",
    "load_calendar",
    "seed_workspace",
]


# --- Errors -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem in the file, at a 1-based line number, described in the language that was
    in force when the file was checked (the reader's)."""

    line: int
    message: str

    def __str__(self) -> str:
        return _("Linje %(line)d: %(message)s") % {"line": self.line, "message": self.message}


class ImportValidationError(Exception):
    """The file has problems; `errors` lists every one of them, sorted by line."""

    def __init__(self, errors: Iterable[RowError]) -> None:
        self.errors: list[RowError] = sorted(errors, key=lambda error: error.line)
        super().__init__(*self.errors)

    def __str__(self) -> str:
        count = len(self.errors)
        header = ngettext("Kalenderfilen har %(n)d feil:", "Kalenderfilen har %(n)d feil:", count)
        header %= {"n": count}
        return "\n".join([header, *(f"  {error}" for error in self.errors)])


# --- Validated data -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarRow:
    """One validated item: its «id» (stored as `external_key`) and model-ready field values."""

    key: str
    line: int
    values: Mapping[str, Any]


@dataclass(frozen=True)
class CalendarData:
    deadlines: tuple[CalendarRow, ...] = ()
    meetings: tuple[CalendarRow, ...] = ()
    contacts: tuple[CalendarRow, ...] = ()


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class ImportResult:
    deadlines: KindCounts = field(default_factory=KindCounts)
    meetings: KindCounts = field(default_factory=KindCounts)
    contacts: KindCounts = field(default_factory=KindCounts)

    @property
    def created(self) -> int:
        return self.deadlines.created + self.meetings.created + self.contacts.created

    @property
    def updated(self) -> int:
        return self.deadlines.updated + self.meetings.updated + self.contacts.updated

    @property
    def unchanged(self) -> int:
        return self.deadlines.unchanged + self.meetings.unchanged + self.contacts.unchanged

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def lines(self, *, only_present: bool = False) -> list[str]:
        """«1 ny frist, 0 endret, 3 uendret», one line per kind (with `only_present`, only
        the kinds the file has rows of)."""
        return [
            count_line(kind, counts)
            for kind, counts in (
                ("deadline", self.deadlines),
                ("meeting", self.meetings),
                ("contact", self.contacts),
            )
            if counts.total or not only_present
        ]

    def describe(self) -> str:
        """«1 ny frist, 0 endret, 3 uendret; 1 nytt møte, …» for people reading the import."""
        return "; ".join(self.lines())


def count_line(kind: str, counts: KindCounts) -> str:
    """«1 ny frist, 0 endret, 3 uendret»: the noun agrees with the count (and «møte» is
    neuter: «1 nytt møte»)."""
    n = counts.created
    if kind == "deadline":
        new = ngettext("%(n)d ny frist", "%(n)d nye frister", n)
    elif kind == "meeting":
        new = ngettext("%(n)d nytt møte", "%(n)d nye møter", n)
    else:
        new = ngettext("%(n)d ny kontakt", "%(n)d nye kontakter", n)
    return _("%(new)s, %(updated)d endret, %(unchanged)d uendret") % {
        "new": new % {"n": n},
        "updated": counts.updated,
        "unchanged": counts.unchanged,
    }


# --- Field vocabulary ---------------------------------------------------------------------------

_SECTIONS = ("frister", "moter", "kontakter")

_CALENDAR_FIELDS = (
    "id",
    "tittel",
    "dato",
    "klokkeslett",
    "sluttdato",
    "presisjon",
    "datonotat",
    "gjentakelse",
    "bekreftet_til",
    "beskrivelse",
    "lenke",
    "gjelder",
    "kilde",
)
_MEETING_FIELDS = (*_CALENDAR_FIELDS, "slutt_klokkeslett", "type", "form", "sted")
_CONTACT_FIELDS = (
    "id",
    "navn",
    "rolle",
    "organisasjon",
    "epost",
    "telefon",
    "formål",
    "merknad",
    "historisk",
)

_PRECISIONS = {
    "dag": DatePrecision.DAY,
    "uke": DatePrecision.WEEK,
    "måned": DatePrecision.MONTH,
    "udatert": DatePrecision.UNSET,
}
_PRECISION_WORDS = {value: word for word, value in _PRECISIONS.items()}
_FORMS = {
    "digital": MeetingForm.DIGITAL,
    "fysisk": MeetingForm.PHYSICAL,
    "hybrid": MeetingForm.HYBRID,
    "ukjent": MeetingForm.UNKNOWN,
}
_BOOLEANS = {"true": True, "ja": True, "yes": True, "false": False, "nei": False, "no": False}
_NULLS = frozenset({"", "~", "null"})

_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_TIME = re.compile(r"(\d{1,2})[:.](\d{2})")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]{2,}")
_PHONE = re.compile(r"\+?[\d\s().-]+")

_EXAMPLE_DATE = "2027-02-12"


def _max_length(model: type[SQLModel], column: str) -> int:
    length = getattr(model.__table__.c[column].type, "length", None)  # type: ignore[attr-defined]
    if not isinstance(length, int):
        raise TypeError(f"{model.__name__}.{column} has no maximum length")
    return length


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"«{name}»" for name in names)


# How alike (difflib's ratio, 0–1) a misspelt name must be to a known one to be suggested,
# and how long: «Formål» is not a misspelt «fra», and a suggestion that is not close
# misleads more than the list of names does.
SUGGEST_CUTOFF = 0.8
SUGGEST_MIN_LENGTH = 4


def close_name(key: str, known: Iterable[str]) -> str | None:
    """The one of `known` that `key` (both compared in the same folded form) is a slip of
    the keyboard away from, or None when none is really close."""
    if len(key) < SUGGEST_MIN_LENGTH:
        return None
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=SUGGEST_CUTOFF)
    return close[0] if close else None


# --- One mapping in the file --------------------------------------------------------------------


class _Item:
    """The fields of one mapping, by canonical name; problems go to the shared error list."""

    def __init__(
        self, node: yaml.MappingNode, allowed: Sequence[str], errors: list[RowError]
    ) -> None:
        self.line = _line(node)
        self._errors = errors
        self._nodes: dict[str, yaml.Node] = {}
        by_folded = {fold(name): name for name in allowed}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(_line(key_node), _("Et feltnavn må være et enkelt ord, som «tittel»."))
                continue
            raw = str(key_node.value).strip()
            name = by_folded.get(fold(raw))
            if name is None:
                self.error(_line(key_node), _unknown_name(raw, allowed))
            elif name in self._nodes:
                first = _line(self._nodes[name])
                self.error(
                    _line(key_node),
                    _("«%(name)s» står to ganger i samme rad (også på linje %(first)d).")
                    % {"name": name, "first": first},
                )
            else:
                self._nodes[name] = value_node

    def error(self, line: int, message: str) -> None:
        self._errors.append(RowError(line, message))

    def line_of(self, name: str) -> int:
        node = self._nodes.get(name)
        return _line(node) if node is not None else self.line

    def node(self, name: str) -> yaml.Node:
        return self._nodes[name]

    def has(self, name: str) -> bool:
        node = self._nodes.get(name)
        if node is None:
            return False
        if not isinstance(node, yaml.ScalarNode):
            return True
        value = str(node.value).strip()
        return not (value == "" or (node.style is None and value.lower() in _NULLS))

    def raw(self, name: str) -> str | None:
        """The field's text, or None when absent, empty or not a single value."""
        if not self.has(name):
            return None
        node = self._nodes[name]
        if not isinstance(node, yaml.ScalarNode):
            self.error(
                _line(node),
                _("«%(name)s» må være én verdi, ikke en liste eller flere felt.") % {"name": name},
            )
            return None
        return str(node.value).strip()

    def text(self, name: str, limit: int, *, required: bool = False) -> str | None:
        value = self.raw(name)
        if value is None:
            if required and name not in self._nodes:
                self.error(self.line, _("Raden mangler «%(name)s».") % {"name": name})
            elif required and isinstance(self._nodes[name], yaml.ScalarNode):
                self.error(self.line_of(name), _("«%(name)s» må fylles ut.") % {"name": name})
            return None
        if len(value) > limit:
            self.error(
                self.line_of(name),
                _("«%(name)s» er for lang: %(length)d tegn, men høyst %(limit)d er lov.")
                % {"name": name, "length": len(value), "limit": limit},
            )
            return None
        return value

    def slug(self, name: str, limit: int) -> str | None:
        value = self.text(name, limit, required=True)
        if value is not None and not _ID.fullmatch(value):
            self.error(
                self.line_of(name),
                _(
                    "«%(name)s» må bestå av små bokstaver a–z, tall og bindestrek, "
                    "som «dks-arsrapportering» (fikk «%(value)s»)."
                )
                % {"name": name, "value": value},
            )
            return None
        return value

    def choice(self, name: str, options: Mapping[str, Any]) -> Any:
        value = self.raw(name)
        if value is None:
            return None
        by_folded = {fold(word): result for word, result in options.items()}
        result = by_folded.get(fold(value))
        if result is None:
            words = list(options)
            self.error(
                self.line_of(name),
                _("«%(name)s» må være %(words)s eller %(last)s (fikk «%(value)s»).")
                % {"name": name, "words": ", ".join(words[:-1]), "last": words[-1], "value": value},
            )
        return result

    def as_date(self, name: str, *, month_ok: bool = False, month_end: bool = False) -> date | None:
        """A date; with `month_ok`, «2024-10» means the first (or with `month_end` last) day."""
        value = self.raw(name)
        if value is None:
            return None
        month = _MONTH.fullmatch(value)
        if _DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                self.error(
                    self.line_of(name),
                    _("«%(name)s»: datoen %(value)s finnes ikke.") % {"name": name, "value": value},
                )
                return None
        if month and month_ok:
            year, number = int(month.group(1)), int(month.group(2))
            if 1 <= number <= 12 and year >= 1:
                day = _calendar.monthrange(year, number)[1] if month_end else 1
                return date(year, number, day)
            self.error(
                self.line_of(name),
                _("«%(name)s»: måneden %(value)s finnes ikke.") % {"name": name, "value": value},
            )
            return None
        if month:
            self.error(
                self.line_of(name),
                _(
                    "«%(name)s» må være en hel dato som %(example)s. "
                    "Bare år og måned går an med «presisjon: måned»."
                )
                % {"name": name, "example": _EXAMPLE_DATE},
            )
            return None
        if month_ok:
            wrong = _(
                "«%(name)s» må være en dato som %(example)s, eller år og måned som 2027-02 "
                "(fikk «%(value)s»)."
            )
        else:
            wrong = _("«%(name)s» må være en dato som %(example)s (fikk «%(value)s»).")
        self.error(
            self.line_of(name), wrong % {"name": name, "example": _EXAMPLE_DATE, "value": value}
        )
        return None

    def as_time(self, name: str) -> time | None:
        value = self.raw(name)
        if value is None:
            return None
        match = _TIME.fullmatch(value)
        if match and int(match.group(1)) < 24 and int(match.group(2)) < 60:
            return time(int(match.group(1)), int(match.group(2)))
        self.error(
            self.line_of(name),
            _("«%(name)s» må være et klokkeslett som 09:00 (fikk «%(value)s»).")
            % {"name": name, "value": value},
        )
        return None

    def boolean(self, name: str) -> bool:
        value = self.raw(name)
        if value is None:
            return False
        result = _BOOLEANS.get(value.lower())
        if result is None:
            self.error(
                self.line_of(name),
                _("«%(name)s» må være true eller false (fikk «%(value)s»).")
                % {"name": name, "value": value},
            )
            return False
        return result

    def email(self, name: str, limit: int) -> str | None:
        value = self.text(name, limit)
        if value is not None and not _EMAIL.fullmatch(value):
            self.error(
                self.line_of(name),
                _("«%(name)s» må være en e-postadresse som navn@kommune.no (fikk «%(value)s»).")
                % {"name": name, "value": value},
            )
            return None
        return value

    def phone(self, name: str, limit: int) -> str | None:
        value = self.text(name, limit)
        if value is None:
            return None
        if not _PHONE.fullmatch(value) or sum(ch.isdigit() for ch in value) < 3:
            self.error(
                self.line_of(name),
                _("«%(name)s» må være et telefonnummer som +47 91 23 45 67 (fikk «%(value)s»).")
                % {"name": name, "value": value},
            )
            return None
        return value

    def link(self, name: str, limit: int) -> str | None:
        value = self.text(name, limit)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"\s", value):
            self.error(
                self.line_of(name),
                _(
                    "«%(name)s» må være en nettadresse som https://kulturskoleradet.no "
                    "(fikk «%(value)s»)."
                )
                % {"name": name, "value": value},
            )
            return None
        return value


def _unknown_name(raw: str, allowed: Sequence[str]) -> str:
    folded = {fold(name): name for name in allowed}
    close = close_name(fold(raw), folded)
    if close:
        return _("Ukjent felt «%(raw)s». Mente du «%(name)s»?") % {
            "raw": raw,
            "name": folded[close],
        }
    return _("Ukjent felt «%(raw)s». Tillatt her: %(names)s.") % {
        "raw": raw,
        "names": _quoted(allowed),
    }


def _rrule_problem(rule: str, start: date) -> str | None:
    if "DTSTART" in rule:
        return _("«gjentakelse» skal ikke ha DTSTART: første gang er «dato».")
    if re.search(r"UNTIL=[0-9T]+Z", rule):
        return _("«gjentakelse»: skriv UNTIL uten tidssone, som UNTIL=20200901.")
    dtstart = datetime.combine(start, time())
    try:
        parsed = rrulestr(rule, dtstart=dtstart)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        # dateutil's own words (English) say what is wrong with the rule.
        return _(
            '«gjentakelse» er ikke en gyldig regel (%(problem)s). Eksempel: "FREQ=YEARLY" for '
            "hvert år."
        ) % {"problem": exc}
    if not isinstance(parsed, rrule):
        return _('«gjentakelse» må være én regel, som "FREQ=YEARLY".')
    if parsed.after(dtstart, inc=True) is None:
        return _(
            "«gjentakelse» gir ingen datoer fra og med «dato». Sjekk UNTIL og resten av regelen."
        )
    return None


# --- Items --------------------------------------------------------------------------------------


def _calendar_values(item: _Item, model: type[Deadline] | type[Meeting]) -> dict[str, Any]:
    is_meeting = model is Meeting

    def limit(column: str) -> int:
        return _max_length(model, column)

    values: dict[str, Any] = {
        "title": item.text("tittel", limit("title"), required=True),
        "description": item.text("beskrivelse", limit("description")),
        "link": item.link("lenke", limit("link")),
        "audience": item.text("gjelder", limit("audience")),
        "date_note": item.text("datonotat", limit("date_note")),
        "source": item.text("kilde", limit("source")),
    }

    precision: DatePrecision | None = item.choice("presisjon", _PRECISIONS)
    if not item.has("presisjon"):
        precision = DatePrecision.DAY if item.has("dato") else DatePrecision.UNSET
    # An unreadable «presisjon» is already reported; read dates leniently then.
    month_ok = precision in (DatePrecision.MONTH, None)
    start = item.as_date("dato", month_ok=month_ok)
    end = item.as_date("sluttdato", month_ok=month_ok, month_end=True)
    start_time = item.as_time("klokkeslett")
    end_time = item.as_time("slutt_klokkeslett") if is_meeting else None
    confirmed = item.as_date("bekreftet_til")
    rule = item.text("gjentakelse", limit("rrule"))
    if rule is not None:
        rule = re.sub(r"\s+", "", rule).upper().removeprefix("RRULE:")

    has_date = item.has("dato")
    if precision is not None and precision is not DatePrecision.UNSET and not has_date:
        item.error(
            item.line,
            _(
                "Raden har «presisjon: %(precision)s», men mangler «dato». "
                "Fyll inn datoen, eller skriv «presisjon: udatert»."
            )
            % {"precision": _PRECISION_WORDS[precision]},
        )
    if precision is DatePrecision.UNSET and has_date:
        item.error(
            item.line_of("presisjon"),
            _(
                "«presisjon: udatert» passer ikke med en «dato». "
                "Fjern datoen, eller velg dag, uke eller måned."
            ),
        )
    if item.has("klokkeslett"):
        if not has_date:
            item.error(item.line_of("klokkeslett"), _("«klokkeslett» trenger en «dato»."))
        elif precision not in (DatePrecision.DAY, None):
            item.error(
                item.line_of("klokkeslett"),
                _("«klokkeslett» kan bare brukes med «presisjon: dag»."),
            )
    if is_meeting and item.has("slutt_klokkeslett") and not item.has("klokkeslett"):
        item.error(
            item.line_of("slutt_klokkeslett"),
            _("«slutt_klokkeslett» trenger et «klokkeslett» for når møtet starter."),
        )
    if item.has("sluttdato") and not has_date:
        item.error(item.line_of("sluttdato"), _("«sluttdato» trenger en «dato» for starten."))
    if start is not None and end is not None and end < start:
        item.error(
            item.line_of("sluttdato"),
            _("«sluttdato» (%(end)s) er før «dato» (%(start)s).")
            % {"end": end.isoformat(), "start": start.isoformat()},
        )
    if (
        start_time is not None
        and end_time is not None
        and (end is None or end == start)
        and end_time <= start_time
    ):
        item.error(
            item.line_of("slutt_klokkeslett"),
            _("«slutt_klokkeslett» (%(end)s) må være etter «klokkeslett» (%(start)s).")
            % {"end": f"{end_time:%H:%M}", "start": f"{start_time:%H:%M}"},
        )
    if rule is not None:
        if not has_date:
            item.error(
                item.line_of("gjentakelse"), _("«gjentakelse» trenger en «dato» for første gang.")
            )
        elif start is not None:
            problem = _rrule_problem(rule, start)
            if problem:
                item.error(item.line_of("gjentakelse"), problem)
    if item.has("bekreftet_til"):
        if not item.has("gjentakelse"):
            item.error(
                item.line_of("bekreftet_til"),
                _("«bekreftet_til» brukes bare sammen med «gjentakelse»."),
            )
        elif confirmed is not None and start is not None and confirmed < start:
            item.error(
                item.line_of("bekreftet_til"),
                _("«bekreftet_til» (%(confirmed)s) er før «dato» (%(start)s).")
                % {"confirmed": confirmed.isoformat(), "start": start.isoformat()},
            )

    values.update(precision=precision, rrule=rule, confirmed_until=confirmed)
    if is_meeting:
        values.update(
            start_date=start,
            start_time=start_time,
            end_date=end,
            end_time=end_time,
            kind=item.text("type", limit("kind")) or "møte",
            form=item.choice("form", _FORMS) or MeetingForm.UNKNOWN,
            place=item.text("sted", limit("place")),
        )
    else:
        values.update(due_date=start, due_time=start_time, end_date=end)
    return values


def _contact_values(item: _Item) -> dict[str, Any]:
    def limit(column: str) -> int:
        return _max_length(Contact, column)

    values: dict[str, Any] = {
        "name": item.text("navn", limit("name")),
        "role": item.text("rolle", limit("role"), required=True),
        "organisation": item.text("organisasjon", limit("organisation")),
        "email": item.email("epost", limit("email")),
        "phone": item.phone("telefon", limit("phone")),
        "purpose": item.text("formål", limit("purpose")),
        "note": item.text("merknad", limit("note")),
        "historical": item.boolean("historisk"),
    }
    if not any(item.has(name) for name in ("navn", "epost", "telefon")):
        item.error(item.line, _("En kontakt trenger minst ett av «navn», «epost» og «telefon»."))
    return values


# --- The file -----------------------------------------------------------------------------------


def _yaml_hint(problem: str) -> str:
    """What to do about PyYAML's `problem` (its own words, in English, stay in the message)."""
    if problem == "mapping values are not allowed here":
        return _(
            "Står det et kolon midt i en tekst? Sett teksten i anførselstegn, som tittel: "
            '"Kulturskole 3.0: frist".'
        )
    if problem == "found unexpected end of stream":
        return _("Mangler det et anførselstegn på slutten av en tekst?")
    if problem == "found character '\\t' that cannot start any token":
        return _("Bruk mellomrom til innrykk, ikke tabulator.")
    return _("Sjekk innrykk, kolon og anførselstegn.")


def _syntax_error(exc: yaml.YAMLError, text: str) -> RowError:
    line = 1
    problem = str(exc)
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = str(exc.problem or exc.context or _("ukjent feil"))
        # At the end of the file, where the unfinished thing started is the useful line.
        mark = exc.problem_mark or exc.context_mark
        if problem == "found unexpected end of stream" and exc.context_mark is not None:
            mark = exc.context_mark
        if mark is not None:
            line = min(int(mark.line) + 1, text.count("\n") + 1)
    elif isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        problem = _("tegnet %(character)r er ikke lov") % {"character": exc.character}
    return RowError(
        line,
        _("Filen kan ikke leses som YAML (%(problem)s). %(hint)s")
        % {"problem": problem, "hint": _yaml_hint(problem)},
    )


def _read(source: str | Path | TextIO) -> str:
    if isinstance(source, Path):
        data = source.read_bytes()
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise ImportValidationError(
                [RowError(line, _("Filen må være lagret som UTF-8-tekst."))]
            ) from exc
    if isinstance(source, str):
        return source
    return source.read()


def _validate(root: yaml.Node | None) -> CalendarData:
    errors: list[RowError] = []
    if root is None:
        raise ImportValidationError(
            [
                RowError(
                    1,
                    _("Filen er tom. Den skal ha listene %(sections)s.")
                    % {"sections": _quoted(_SECTIONS)},
                )
            ]
        )
    if not isinstance(root, yaml.MappingNode):
        raise ImportValidationError(
            [
                RowError(
                    _line(root),
                    _(
                        "Filen må bestå av listene %(sections)s, hver på egen linje "
                        "med kolon etter, som «frister:»."
                    )
                    % {"sections": _quoted(_SECTIONS)},
                )
            ]
        )

    top = _Item(root, _SECTIONS, errors)
    seen_ids: dict[str, int] = {}
    sections: dict[str, list[CalendarRow]] = {name: [] for name in _SECTIONS}
    builders: dict[str, tuple[Sequence[str], Callable[[_Item], dict[str, Any]]]] = {
        "frister": (_CALENDAR_FIELDS, lambda item: _calendar_values(item, Deadline)),
        "moter": (_MEETING_FIELDS, lambda item: _calendar_values(item, Meeting)),
        "kontakter": (_CONTACT_FIELDS, _contact_values),
    }
    id_limit = min(_max_length(model, "external_key") for model in (Deadline, Meeting, Contact))

    for section, (allowed, build) in builders.items():
        if not top.has(section):
            continue
        node = top.node(section)
        if not isinstance(node, yaml.SequenceNode):
            errors.append(
                RowError(
                    _line(node),
                    _("«%(section)s» må være en liste der hver rad starter med «- id:».")
                    % {"section": section},
                )
            )
            continue
        for entry in node.value:
            if not isinstance(entry, yaml.MappingNode):
                errors.append(
                    RowError(
                        _line(entry),
                        _("Hver rad under «%(section)s» må ha felt som «id:» og «tittel:».")
                        % {"section": section},
                    )
                )
                continue
            item = _Item(entry, allowed, errors)
            key = item.slug("id", id_limit)
            values = build(item)
            if key is None:
                continue
            if key in seen_ids:
                item.error(
                    item.line_of("id"),
                    _(
                        "id «%(key)s» er allerede brukt på linje %(line)d. "
                        "Hver rad trenger sin egen id."
                    )
                    % {"key": key, "line": seen_ids[key]},
                )
                continue
            seen_ids[key] = item.line_of("id")
            sections[section].append(
                CalendarRow(key=key, line=item.line, values=MappingProxyType(values))
            )

    if errors:
        raise ImportValidationError(errors)
    return CalendarData(
        deadlines=tuple(sections["frister"]),
        meetings=tuple(sections["moter"]),
        contacts=tuple(sections["kontakter"]),
    )


def load_calendar(source: str | Path | TextIO) -> CalendarData:
    """Parse and validate a calendar file.

    `source` is the YAML text itself (str), a file path (Path) or an open text stream.
    Raises ImportValidationError listing every problem with its line number.
    """
    text = xml_safe(_read(source))
    try:
        root = yaml.compose(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as exc:
        raise ImportValidationError([_syntax_error(exc, text)]) from exc
    return _validate(root)


# --- Import -------------------------------------------------------------------------------------

_M = TypeVar("_M", Deadline, Meeting, Contact)


def _deadline_search_key(values: Mapping[str, Any]) -> str:
    return search_key(values["title"], values["description"], values["audience"])


def _meeting_search_key(values: Mapping[str, Any]) -> str:
    return search_key(
        values["title"], values["description"], values["audience"], values["kind"], values["place"]
    )


def _contact_search_key(values: Mapping[str, Any]) -> str:
    return contact_key(values, school=None, municipality=None)


def _upsert(
    session: Session,
    model: type[_M],
    team_id: str,
    rows: Sequence[CalendarRow],
    make_search_key: Callable[[Mapping[str, Any]], str],
    counts: KindCounts,
) -> None:
    if not rows:
        return
    key_limit = _max_length(model, "search_key")
    statement = select(model).where(
        col(model.team_id) == team_id, col(model.external_key).in_([row.key for row in rows])
    )
    existing = {obj.external_key: obj for obj in session.exec(statement)}
    for row in rows:
        values = dict(row.values)
        values["search_key"] = make_search_key(values)[:key_limit]
        obj = existing.get(row.key)
        if obj is None:
            session.add(model(team_id=team_id, external_key=row.key, **values))
            counts.created += 1
            continue
        changed = {name: value for name, value in values.items() if getattr(obj, name) != value}
        if changed:
            for name, value in changed.items():
                setattr(obj, name, value)
            session.add(obj)
            counts.updated += 1
        else:
            counts.unchanged += 1


def import_calendar(*, session: Session, team_id: str, data: CalendarData) -> ImportResult:
    """Create or update the team's deadlines, meetings and contacts from validated data.

    Rows are matched on (team_id, «id»), so importing the same file again changes nothing.
    Rows the file does not mention are left alone. Everything happens in the caller's
    session: commit it (session_scope does) or roll it back; nothing is half imported.
    """
    if not team_id:
        raise ValueError("team_id must not be empty")
    result = ImportResult()
    _upsert(session, Deadline, team_id, data.deadlines, _deadline_search_key, result.deadlines)
    _upsert(session, Meeting, team_id, data.meetings, _meeting_search_key, result.meetings)
    _upsert(session, Contact, team_id, data.contacts, _contact_search_key, result.contacts)
    session.flush()
    return result


def bundled_calendar_path() -> Path:
    """The calendar that ships with the bot (data/dks-kalender.yaml in the repository)."""
    return Path(__file__).resolve().parents[2] / "data" / "dks-kalender.yaml"


@cache
def _bundled_calendar() -> CalendarData:
    return load_calendar(bundled_calendar_path())


def seed_workspace(*, session: Session, team_id: str) -> ImportResult:
    """Import the bundled calendar for a workspace (parsed once per process)."""
    return import_calendar(session=session, team_id=team_id, data=_bundled_calendar())
