"""Which importer a file is for, told from what it holds, never from its name.

People save the tour plan as «kontakter.csv» and the calendar as «.txt»; the name says nothing
the content does not say better. A calendar is YAML with at least one of its lists as a
top-level key («frister:», «moter:», «kontakter:»), found line by line so a calendar with a
syntax error is still a calendar and gets its own errors. A CSV's first line is matched against
both importers' column spellings: the one that knows more of its columns takes it, so a tour
plan missing columns, or a contacts list with one misspelt, still reaches its own importer
and hears what is wrong. A file neither fits is `None`: the caller says which kinds there are.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable

from handlers.core.i18n import _
from storage.folding import fold
from storage.importers import contacts, tourplan
from storage.importers.calendar import _SECTIONS as CALENDAR_SECTIONS

__all__ = ["CALENDAR", "CONTACTS", "TOURPLAN", "file_kind", "unknown_kind_message"]

# The kinds as stored with a pending upload (PendingImport.kind).
CALENDAR = "kalender"
CONTACTS = "kontakter"
TOURPLAN = "turneplan"

# The contacts columns the message names: those a contacts file usually starts with.
CONTACTS_EXAMPLES = ("navn", "rolle", "epost", "telefon", "skole", "kommune")
SEPARATORS = (";", ",", "\t")
# A top-level YAML key: unindented, not a comment or a list item, then a colon.
_TOP_KEY = re.compile(r"""^["']?([^\s#:'"-][^:#'"\n]*?)["']?[ \t]*:(?:\s|$)""", re.MULTILINE)


def _key(name: str) -> str:
    """A column name as both importers compare it: folded, without spaces or punctuation."""
    return re.sub(r"[\W_]+", "", fold(name))


def _spellings(columns: dict[str, tuple[str, ...]]) -> frozenset[str]:
    return frozenset(_key(s) for name, spellings in columns.items() for s in (name, *spellings))


_TOURPLAN = _spellings(tourplan.COLUMNS)
_CONTACTS = _spellings(contacts.COLUMNS)
_SECTIONS = frozenset(fold(s) for s in CALENDAR_SECTIONS)


def _is_calendar(text: str) -> bool:
    return any(fold(key) in _SECTIONS for key in _TOP_KEY.findall(text))


def _known(cells: Iterable[str], spellings: frozenset[str]) -> int:
    return sum(1 for cell in cells if _key(cell) in spellings)


def _csv_kind(first_line: str) -> str | None:
    best: tuple[int, int] = (0, 0)
    for separator in SEPARATORS:
        try:
            cells = next(csv.reader([first_line], delimiter=separator), [])
        except csv.Error:  # a NUL byte: not a text file
            return None
        score = (_known(cells, _TOURPLAN), _known(cells, _CONTACTS))
        best = max(best, score, key=max)
    tour, contact = best
    if tour > contact:
        return TOURPLAN
    return CONTACTS if contact else None


def file_kind(text: str) -> str | None:
    """CALENDAR, CONTACTS or TOURPLAN for a decoded file, or None when it is none of them."""
    text = text.removeprefix("\ufeff")
    if _is_calendar(text):
        return CALENDAR
    first_line = text.lstrip("\r\n").split("\n", 1)[0].rstrip("\r")
    return _csv_kind(first_line) if first_line.strip() else None


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"«{name}»" for name in names)


def unknown_kind_message() -> str:
    """What a user is told about a file that is none of the three kinds."""
    return _(
        "Jeg kjenner ikke igjen filen. Jeg kan importere tre slags filer: en kalender (YAML "
        "med listene %(calendar)s), kontakter (CSV med kolonner som %(contacts)s) og en "
        "turnéplan (CSV med kolonnene %(tourplan)s)."
    ) % {
        "calendar": _quoted(CALENDAR_SECTIONS),
        "contacts": _quoted(CONTACTS_EXAMPLES),
        "tourplan": _quoted(tourplan.REQUIRED_COLUMNS),
    }
