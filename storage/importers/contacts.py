"""Contacts and schools from a CSV file, as a municipality exports it from Excel.

Excel writes `;`-separated files in Windows-1252 on Norwegian machines and `,`-separated
UTF-8 elsewhere; both are read. The first line names the columns, in Norwegian, in any case
and with or without accents («E-post», «epost», «Formål»). Every problem is collected with its
line number, and nothing is written unless the whole file is valid and every row can be
placed: all or nothing.

A row can be
- a school (a «skole», optionally with «kommune», and no person): the school is added;
- a contact (a «navn», «e-post» or «telefon"): matched to an existing contact by «id», else
  by e-mail, else by name, role and school, then created or updated. A contact at a school
  with no «rolle» is the school's kulturkontakt.
Only the columns the file has are changed: a file without «telefon» leaves phone numbers be.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from handlers.core.i18n import N_, SOURCE, _, ngettext, use_language
from storage import audit
from storage.contacts import contact_search_key
from storage.folding import fold
from storage.importers.calendar import RowError, close_name
from storage.items import KULTURKONTAKT
from storage.models import Contact, Municipality, PendingImport, School
from storage.text import xml_safe

__all__ = [
    "COLUMNS",
    "ContactImportError",
    "ContactImportResult",
    "ContactRow",
    "ContactsData",
    "decode",
    "delete_pending_import",
    "get_pending_import",
    "import_contacts",
    "load_contacts",
    "save_pending_import",
]

MAX_BYTES = 10 * 1024 * 1024  # Slack's file_input limit

# Canonical column → the spellings a header may use (compared after `_header_key`).
COLUMNS: dict[str, tuple[str, ...]] = {
    "navn": ("navn", "name", "kontaktperson", "kontakt", "fulltnavn"),
    "rolle": ("rolle", "role", "stilling", "funksjon", "tittel"),
    "organisasjon": ("organisasjon", "virksomhet", "arbeidssted", "organisation"),
    "epost": ("epost", "epostadresse", "email", "mail", "emailadresse"),
    "telefon": ("telefon", "tlf", "mobil", "telefonnummer", "mobilnummer", "phone", "tlfnr"),
    "skole": ("skole", "skolenavn", "school", "skule"),
    "kommune": ("kommune", "kommunenavn", "municipality"),
    "kommunenummer": ("kommunenummer", "kommunenr", "knr"),
    "fylke": ("fylke", "county"),
    "formål": ("formal", "ansvar", "kontaktomat", "purpose"),
    "merknad": ("merknad", "kommentar", "notat", "note"),
    "slack": ("slack", "slackid", "slackbruker"),
    "historisk": ("historisk",),
    "id": ("id", "nokkel", "kontaktid"),
    # A column of kulturkontakt names next to a school column is common in municipal lists.
    "kulturkontakt": ("kulturkontakt", "kulturkontakter"),
}
_CONTACT_FIELDS = {
    "navn": "name",
    "rolle": "role",
    "organisasjon": "organisation",
    "epost": "email",
    "telefon": "phone",
    "formål": "purpose",
    "merknad": "note",
    "slack": "slack_user_id",
    "historisk": "historical",
}
_LIMITS = {
    "name": 200,
    "role": 100,
    "organisation": 200,
    "email": 320,
    "phone": 40,
    "purpose": 500,
    "note": 500,
    "slack_user_id": 40,
    "school": 200,
    "municipality": 200,
    "county": 200,
    "number": 8,
    "key": 100,
}

_EMAIL = re.compile(r"[^@\s;,]+@[^@\s;,]+\.[^@\s.;,]{2,}")
_PHONE = re.compile(r"\+?[\d\s().-]+")
_SLACK = re.compile(r"<?@?([UW][A-Z0-9]{2,})(?:\|[^>]*)?>?")
_BOOLEANS = {
    "": False,
    "ja": True,
    "nei": False,
    "true": True,
    "false": False,
    "x": True,
    "1": True,
    "0": False,
    "yes": True,
    "no": False,
}


def _header_key(text: str) -> str:
    return re.sub(r"[\s._\-/()]+", "", fold(text))


_BY_SPELLING = {
    _header_key(spelling): name for name, spellings in COLUMNS.items() for spelling in spellings
}


# --- Errors and data -----------------------------------------------------------------------------


class ContactImportError(Exception):
    """The file has problems; `errors` lists every one of them, sorted by line."""

    def __init__(self, errors: Iterable[RowError]) -> None:
        self.errors: list[RowError] = sorted(errors, key=lambda e: e.line)
        super().__init__(*self.errors)

    def __str__(self) -> str:
        count = len(self.errors)
        header = ngettext("Filen har %(n)d feil:", "Filen har %(n)d feil:", count) % {"n": count}
        return "\n".join([header, *(f"  {error}" for error in self.errors)])


@dataclass(frozen=True)
class ContactRow:
    line: int
    # Contact fields the file has columns for, with this row's values (None: empty cell).
    values: Mapping[str, Any]
    key: str | None = None
    school: str | None = None
    municipality: str | None = None
    county: str | None = None
    number: str | None = None

    @property
    def is_contact(self) -> bool:
        return any(self.values.get(f) for f in ("name", "email", "phone"))


@dataclass(frozen=True)
class ContactsData:
    rows: tuple[ContactRow, ...]
    # Canonical names of the columns the file has.
    columns: frozenset[str]
    # Rows that are wrong in themselves (left out of `rows`); import_contacts reports them
    # together with the rows that cannot be placed in the workspace, so one round shows all.
    errors: tuple[RowError, ...] = ()


@dataclass
class ContactImportResult:
    municipalities_created: int = 0
    schools_created: int = 0
    contacts_created: int = 0
    contacts_updated: int = 0
    contacts_unchanged: int = 0
    # One readable line per change, in file order, for the preview.
    changes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.municipalities_created
            or self.schools_created
            or self.contacts_created
            or self.contacts_updated
        )

    def summary(self) -> str:
        """«1 ny kontakt, 2 nye skoler.»: what is counted, each noun agreeing with its count."""
        created, updated = self.contacts_created, self.contacts_updated
        schools, munis = self.schools_created, self.municipalities_created
        unchanged = self.contacts_unchanged
        parts = [
            text % {"n": n}
            for n, text in (
                (created, ngettext("%(n)d ny kontakt", "%(n)d nye kontakter", created)),
                (updated, ngettext("%(n)d endret kontakt", "%(n)d endrede kontakter", updated)),
                (schools, ngettext("%(n)d ny skole", "%(n)d nye skoler", schools)),
                (munis, ngettext("%(n)d ny kommune", "%(n)d nye kommuner", munis)),
                (
                    unchanged,
                    ngettext("%(n)d kontakt uendret", "%(n)d kontakter uendret", unchanged),
                ),
            )
            if n
        ]
        return ", ".join(parts) + "." if parts else _("ingenting å importere.")


# --- Reading -------------------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) or Windows-1252, as Excel saves CSV."""
    if len(data) > MAX_BYTES:
        raise ContactImportError([RowError(1, _("Filen er større enn 10 MB."))])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ContactImportError(
            [
                RowError(
                    line,
                    _("Filen er verken UTF-8 eller Windows-1252. Lagre den som CSV fra Excel."),
                )
            ]
        ) from exc


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ";"


def _unknown(raw: str) -> str:
    """An unknown column, with the spelling the user was close to (a column name is a file
    format word: the same in every language), or else every column the bot knows."""
    close = close_name(_header_key(raw), _BY_SPELLING)
    if close:
        # The spelling the header came close to; the column's own name if it is that word
        # written without accents or dashes («formal» is «formål», «epost» is «epost»).
        name = _BY_SPELLING[close]
        shown = name if _header_key(name) == close else close
        return _("Ukjent kolonne «%(raw)s». Mente du «%(name)s»?") % {"raw": raw, "name": shown}
    names = ", ".join(f"«{name}»" for name in COLUMNS)
    return _("Ukjent kolonne «%(raw)s». Kolonner boten kjenner: %(names)s.") % {
        "raw": raw,
        "names": names,
    }


def _clean(value: str) -> str | None:
    value = value.replace("\u00a0", " ").strip()
    # Excel's way of keeping a leading zero: ="0047…"
    if value.startswith('="') and value.endswith('"'):
        value = value[2:-1].strip()
    return value or None


class _Row:
    def __init__(self, line: int, cells: dict[str, str | None], errors: list[RowError]) -> None:
        self.line = line
        self.cells = cells
        self.errors = errors

    def error(self, message: str) -> None:
        self.errors.append(RowError(self.line, message))

    def text(self, column: str, limit: int) -> str | None:
        value = self.cells.get(column)
        if value is not None and len(value) > limit:
            self.error(
                _("«%(name)s» er for lang: %(length)d tegn, høyst %(limit)d er lov.")
                % {"name": column, "length": len(value), "limit": limit}
            )
            return None
        return value


def load_contacts(source: bytes | str | Path) -> ContactsData:
    """Parse and validate a CSV file (bytes, text, or a path). Raises ContactImportError."""
    if isinstance(source, Path):
        source = source.read_bytes()
    text = xml_safe(decode(source) if isinstance(source, bytes) else source.removeprefix("\ufeff"))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    errors: list[RowError] = []
    try:
        header = next(reader)
    except StopIteration:
        raise ContactImportError([RowError(1, _("Filen er tom."))]) from None
    except csv.Error as exc:
        raise ContactImportError(
            [RowError(1, _("Første linje kan ikke leses (%(problem)s).") % {"problem": exc})]
        ) from None
    columns: list[str | None] = []
    seen: dict[str, str] = {}
    for raw in header:
        raw = raw.strip()
        if not raw:
            columns.append(None)  # Excel leaves empty columns at the end
            continue
        name = _BY_SPELLING.get(_header_key(raw))
        if name is None:
            errors.append(RowError(1, _unknown(raw)))
        elif name in seen:
            errors.append(
                RowError(
                    1,
                    _("Kolonnen «%(raw)s» står to ganger (også som «%(first)s»).")
                    % {"raw": raw, "first": seen[name]},
                )
            )
            name = None
        else:
            seen[name] = raw
        columns.append(name)
    present = frozenset(n for n in columns if n)
    if "navn" in present and "kulturkontakt" in present:
        errors.append(
            RowError(1, _("Bruk enten «navn» eller «kulturkontakt» for navnet, ikke begge."))
        )
    if not present & {"navn", "kulturkontakt", "epost", "telefon", "skole", "kommune"}:
        errors.append(
            RowError(
                1,
                _(
                    "Første linje må ha kolonnenavn, for eksempel skole;kommune;navn;rolle;e-post. "
                    "Fant ingen av «navn», «e-post», «telefon», «skole» eller «kommune»."
                ),
            )
        )
    if errors:
        raise ContactImportError(errors)

    rows: list[ContactRow] = []
    keys: dict[str, int] = {}
    line = reader.line_num
    while True:
        start = line + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(
                RowError(
                    start,
                    _("Linjen kan ikke leses (%(problem)s). Mangler et anførselstegn?")
                    % {"problem": exc},
                )
            )
            break
        line = reader.line_num
        cells: dict[str, str | None] = {}
        extra = [c for c in record[len(columns) :] if c.strip()]
        if extra:
            errors.append(
                RowError(
                    start,
                    _("Raden har flere felt (%(fields)d) enn det er kolonner.")
                    % {"fields": len(record)},
                )
            )
            continue
        for name, value in zip(columns, record, strict=False):
            if name:
                cells[name] = _clean(value)
        if not any(cells.values()):
            continue  # blank lines and rows of empty cells
        row = _parse_row(_Row(start, cells, errors), present)
        if row is None:
            continue
        if row.key is not None:
            if row.key in keys:
                errors.append(
                    RowError(
                        start,
                        _("id «%(key)s» er allerede brukt på linje %(line)d.")
                        % {"key": row.key, "line": keys[row.key]},
                    )
                )
                continue
            keys[row.key] = start
        rows.append(row)
    if not rows and not errors:
        raise ContactImportError([RowError(2, _("Filen har ingen rader under kolonnenavnene."))])
    return ContactsData(tuple(rows), present, tuple(errors))


def _parse_row(row: _Row, present: frozenset[str]) -> ContactRow | None:
    before = len(row.errors)
    values: dict[str, Any] = {}
    for column, field_name in _CONTACT_FIELDS.items():
        if column not in present and not (column == "navn" and "kulturkontakt" in present):
            continue
        source = "kulturkontakt" if column == "navn" and "kulturkontakt" in present else column
        if field_name == "historical":
            raw = (row.cells.get(column) or "").lower()
            if raw not in _BOOLEANS:
                row.error(
                    _("«historisk» må være ja eller nei (fikk «%(value)s»).") % {"value": raw}
                )
            values["historical"] = _BOOLEANS.get(raw, False)
            continue
        value = row.text(source, _LIMITS[field_name])
        if value is not None and field_name == "email":
            if not _EMAIL.fullmatch(value):
                row.error(
                    _("«e-post» må være en e-postadresse som navn@kommune.no (fikk «%(value)s»).")
                    % {"value": value}
                )
        elif value is not None and field_name == "phone":
            if not _PHONE.fullmatch(value) or sum(ch.isdigit() for ch in value) < 3:
                row.error(
                    _("«telefon» må være et telefonnummer som 912 34 567 (fikk «%(value)s»).")
                    % {"value": value}
                )
        elif value is not None and field_name == "slack_user_id":
            match = _SLACK.fullmatch(value)
            if match is None:
                row.error(
                    _("«slack» må være en Slack-bruker-id som U012AB3CD (fikk «%(value)s»).")
                    % {"value": value}
                )
            else:
                value = match.group(1)
        elif value is not None and field_name == "role":
            value = value.lower()
        values[field_name] = value
    school = row.text("skole", _LIMITS["school"])
    municipality = row.text("kommune", _LIMITS["municipality"])
    county = row.text("fylke", _LIMITS["county"])
    number = row.text("kommunenummer", _LIMITS["number"])
    if number is not None and not (number.isascii() and number.isdigit()):
        row.error(
            _("«kommunenummer» må være et tall som 3020 (fikk «%(value)s»).") % {"value": number}
        )
    key = row.text("id", _LIMITS["key"])
    result = ContactRow(
        line=row.line,
        values=values,
        key=key,
        school=school,
        municipality=municipality,
        county=county,
        number=number,
    )
    if not values.get("role"):
        # A blank role never erases one; a new contact gets its role when it is placed.
        values.pop("role", None)
    if result.is_contact:
        return result if len(row.errors) == before else None
    if any(values.get(f) for f in ("role", "organisation", "purpose", "note", "slack_user_id")):
        row.error(_("En kontakt trenger minst ett av «navn», «e-post» og «telefon»."))
    elif not school and not municipality:
        row.error(_("Raden har verken kontakt, skole eller kommune."))
    if key is not None:
        row.error(_("«id» brukes bare på rader med en kontakt."))
    return result if len(row.errors) == before else None


# --- Importing -----------------------------------------------------------------------------------


def _contact_label(values: Mapping[str, Any], school: str | None) -> str:
    who = values.get("name") or values.get("email") or values.get("phone") or "?"
    role = values.get("role")
    where = f", {school}" if school else ""
    return f"{who} ({role}{where})" if role else f"{who}{where}"


# What the preview calls a changed field (translated where shown).
_FIELD_WORDS = {
    "name": N_("navn"),
    "role": N_("rolle"),
    "organisation": N_("organisasjon"),
    "email": N_("e-post"),
    "phone": N_("telefon"),
    "purpose": N_("formål"),
    "note": N_("merknad"),
    "historical": N_("historisk"),
    "slack_user_id": N_("Slack-bruker"),
    "school_id": N_("skole"),
    "municipality_id": N_("kommune"),
}


def import_contacts(
    *,
    session: Session,
    team_id: str,
    data: ContactsData,
    user_id: str | None,
    source: str = "slack",
    at: datetime | None = None,
    dry_run: bool = False,
) -> ContactImportResult:
    """Create or update the workspace's municipalities, schools and contacts from `data`.

    With `dry_run` nothing is written: the result says what an import would do (the preview).
    Rows that cannot be placed (an ambiguous school name, two rows for one contact) raise
    ContactImportError before anything is written. Everything happens in the caller's
    session: commit it or roll it back.
    """
    if not team_id:
        raise ValueError("team_id must not be empty")
    plan = _Plan(session, team_id, data)
    for row in data.rows:
        plan.add(row)
    if data.errors or plan.errors:
        raise ContactImportError([*data.errors, *plan.errors])
    if not dry_run:
        plan.write(user_id=user_id, source=source, at=at)
    return plan.result


class _Plan:
    """What an import will do, worked out in memory against the workspace's rows.

    Schools and municipalities are tracked as objects (new ones are unsaved rows), so a
    contact placed at a school created three lines earlier is matched like any other.
    """

    def __init__(self, session: Session, team_id: str, data: ContactsData) -> None:
        self.session = session
        self.team_id = team_id
        self.data = data
        self.result = ContactImportResult()
        self.errors: list[RowError] = []
        self.places = "skole" in data.columns or "kommune" in data.columns
        self.munis: dict[str, Municipality] = {}
        self.muni_by_id: dict[int, Municipality] = {}
        for m in session.exec(select(Municipality).where(col(Municipality.team_id) == team_id)):
            self.munis[fold(m.name)] = m
            self.muni_by_id[m.id or 0] = m
        self.schools: dict[str, list[School]] = {}
        self.school_by_id: dict[int, School] = {}
        for s in session.exec(select(School).where(col(School.team_id) == team_id)):
            self.schools.setdefault(fold(s.name), []).append(s)
            self.school_by_id[s.id or 0] = s
        self.school_muni: dict[int, Municipality | None] = {
            id(s): self.muni_by_id.get(s.municipality_id or 0) for s in self.school_by_id.values()
        }
        self.by_key: dict[str, Contact] = {}
        self.by_email: dict[str, Contact] = {}
        self.by_identity: dict[tuple[str, str, int, int], Contact] = {}
        for c in session.exec(select(Contact).where(col(Contact.team_id) == team_id)):
            if c.external_key:
                self.by_key[c.external_key] = c
            if c.email:
                self.by_email.setdefault(c.email.lower(), c)
            school, muni = self._place_of(c)
            self.by_identity.setdefault(self._identity(c.name, c.role, school, muni), c)
        self.new_munis: list[Municipality] = []
        self.new_schools: list[School] = []
        self.created: list[Contact] = []
        self.updated: list[tuple[Contact, dict[str, list[Any]]]] = []
        self.claimed: dict[int, int] = {}  # id(contact) → the line that set it
        self.placement: dict[int, tuple[School | None, Municipality | None]] = {}

    @staticmethod
    def _identity(
        name: Any, role: Any, school: School | None, muni: Municipality | None
    ) -> tuple[str, str, int, int]:
        return (fold(name or ""), fold(role or ""), id(school), id(muni))

    def _place_of(self, c: Contact) -> tuple[School | None, Municipality | None]:
        school = self.school_by_id.get(c.school_id) if c.school_id else None
        muni = self.muni_by_id.get(c.municipality_id) if c.municipality_id else None
        return school, muni

    def _municipality(self, row: ContactRow) -> Municipality | None:
        if not row.municipality:
            return None
        muni = self.munis.get(fold(row.municipality))
        if muni is None:
            muni = Municipality(
                team_id=self.team_id, name=row.municipality, county=row.county, number=row.number
            )
            self.munis[fold(row.municipality)] = muni
            self.new_munis.append(muni)
            self.result.municipalities_created += 1
            self.result.changes.append(_("Ny kommune: %(name)s") % {"name": row.municipality})
        return muni

    def _school(self, row: ContactRow, muni: Municipality | None) -> tuple[bool, School | None]:
        if not row.school:
            return True, None
        same_name = self.schools.get(fold(row.school), [])
        if muni is not None:
            same_name = [s for s in same_name if self.school_muni.get(id(s)) is muni]
        if len(same_name) > 1:
            self.errors.append(
                RowError(
                    row.line,
                    _(
                        "Flere skoler heter «%(school)s». Fyll inn «kommune», så boten vet "
                        "hvilken du mener."
                    )
                    % {"school": row.school},
                )
            )
            return False, None
        if same_name:
            return True, same_name[0]
        school = School(team_id=self.team_id, name=row.school)
        self.school_muni[id(school)] = muni
        self.schools.setdefault(fold(row.school), []).append(school)
        self.new_schools.append(school)
        self.result.schools_created += 1
        if muni is not None:
            change = _("Ny skole: %(name)s (%(municipality)s)") % {
                "name": row.school,
                "municipality": muni.name,
            }
        else:
            change = _("Ny skole: %(name)s") % {"name": row.school}
        self.result.changes.append(change)
        return True, school

    def add(self, row: ContactRow) -> None:
        muni = self._municipality(row)
        ok, school = self._school(row, muni)
        if not ok or not row.is_contact:
            return
        values = dict(row.values)
        # A contact at a school belongs to the school's municipality through the school.
        place_muni = None if school is not None else muni
        # At a school, someone without a role is the school's kulturkontakt.
        role = values.get("role") or (KULTURKONTAKT if school is not None else None)
        label = _contact_label({**values, "role": role}, row.school)
        if row.key is not None:
            existing = self.by_key.get(row.key)
        elif values.get("email"):
            existing = self.by_email.get(str(values["email"]).lower())
        else:
            existing = self.by_identity.get(
                self._identity(values.get("name"), role, school, place_muni)
            )
        if existing is not None and id(existing) in self.claimed:
            self.errors.append(
                RowError(
                    row.line,
                    _("Samme kontakt som på linje %(line)d: %(label)s.")
                    % {"line": self.claimed[id(existing)], "label": label},
                )
            )
            return
        if existing is None:
            if role is None:
                self.errors.append(
                    RowError(
                        row.line,
                        _("Raden mangler «rolle». Skriv for eksempel kulturkontakt eller rektor."),
                    )
                )
                return
            values["role"] = role
            contact = Contact(team_id=self.team_id, role=role)
            contact.external_key = row.key
            for name, value in values.items():
                setattr(contact, name, value)
            if contact.email:
                self.by_email.setdefault(contact.email.lower(), contact)
            if row.key:
                self.by_key[row.key] = contact
            self.by_identity.setdefault(
                self._identity(contact.name, contact.role, school, place_muni), contact
            )
            self.claimed[id(contact)] = row.line
            self.placement[id(contact)] = (school, place_muni)
            self.created.append(contact)
            self.result.contacts_created += 1
            self.result.changes.append(_("Ny kontakt: %(label)s") % {"label": label})
            return
        self.claimed[id(existing)] = row.line
        changes: dict[str, list[Any]] = {
            name: [getattr(existing, name), value]
            for name, value in values.items()
            if getattr(existing, name) != value
        }
        current_school, current_muni = self._place_of(existing)
        if self.places and (current_school is not school or current_muni is not place_muni):
            changes["school_id"] = [
                current_school.name if current_school else None,
                school.name if school else None,
            ]
            changes["municipality_id"] = [
                current_muni.name if current_muni else None,
                place_muni.name if place_muni else None,
            ]
        if not changes:
            self.result.contacts_unchanged += 1
            return
        self.placement[id(existing)] = (
            (school, place_muni) if self.places else (current_school, current_muni)
        )
        self.updated.append((existing, changes))
        self.result.contacts_updated += 1
        words = dict.fromkeys(_(_FIELD_WORDS[n]) for n in changes)
        self.result.changes.append(
            _("Endret: %(label)s – %(fields)s") % {"label": label, "fields": ", ".join(words)}
        )

    def write(self, *, user_id: str | None, source: str, at: datetime | None) -> None:
        session = self.session
        # Municipalities first, then schools (they need municipality ids), then contacts.
        session.add_all(self.new_munis)
        session.flush()
        for school in self.new_schools:
            muni = self.school_muni.get(id(school))
            school.municipality_id = muni.id if muni is not None else None
        session.add_all(self.new_schools)
        session.flush()
        key_limit = Contact.__table__.c["search_key"].type.length  # type: ignore[attr-defined]
        for contact in self.created:
            self._store(contact, key_limit)
        for contact, changes in self.updated:
            for name, (_old, value) in changes.items():
                if name not in ("school_id", "municipality_id"):
                    setattr(contact, name, value)
            self._store(contact, key_limit)
        session.flush()

        def record(kind: str, item_id: int | None, summary: str, changes: Any) -> None:
            audit.record(
                session=session,
                team_id=self.team_id,
                user_id=user_id,
                action="import",
                item_kind=kind,
                item_id=item_id,
                summary=summary,
                changes=changes,
                source=source,
                at=at,
            )

        for m in self.new_munis:
            record("municipality", m.id, m.name, {"name": m.name})
        for s in self.new_schools:
            record("school", s.id, s.name, {"name": s.name, "municipality_id": s.municipality_id})
        for contact in self.created:
            fields = {f: getattr(contact, f) for f in _CONTACT_FIELDS.values()}
            record(
                "contact", contact.id, _label_of(contact), {k: v for k, v in fields.items() if v}
            )
        for contact, changes in self.updated:
            record("contact", contact.id, _label_of(contact), changes)
        # The audit trail is a record, kept in the source language like the bot's logs.
        with use_language(SOURCE):
            summary = self.result.summary()
        record("import", None, f"Import av kontakter: {summary}", None)
        session.flush()

    def _store(self, contact: Contact, key_limit: int) -> None:
        school, muni = self.placement[id(contact)]
        contact.school_id = school.id if school is not None else None
        contact.municipality_id = muni.id if muni is not None else None
        area = muni or (self.school_muni.get(id(school)) if school is not None else None)
        contact.search_key = contact_search_key(
            contact,
            school=school.name if school is not None else None,
            municipality=area.name if area is not None else None,
        )[:key_limit]
        self.session.add(contact)


def _label_of(contact: Contact) -> str:
    return contact.name or contact.email or contact.phone or contact.role


# --- Pending imports: Slack's preview → confirm --------------------------------------------------


def save_pending_import(
    *,
    session: Session,
    pending_id: str,
    team_id: str,
    user_id: str,
    filename: str,
    kind: str,
    content: str,
    now: datetime,
    max_age: timedelta,
) -> PendingImport:
    """Keep a previewed file until its uploader confirms; old previews are dropped here."""
    session.execute(
        delete(PendingImport).where(
            col(PendingImport.team_id) == team_id, col(PendingImport.created_at) < now - max_age
        )
    )
    pending = PendingImport(
        id=pending_id,
        team_id=team_id,
        user_id=user_id,
        filename=filename,
        kind=kind,
        content=content,
        created_at=now,
    )
    session.add(pending)
    session.flush()
    return pending


def get_pending_import(
    *,
    session: Session,
    pending_id: str,
    team_id: str,
    user_id: str,
    now: datetime,
    max_age: timedelta,
) -> PendingImport | None:
    """The preview, if it is this user's in this workspace and not too old."""
    if not pending_id:
        return None
    pending = session.get(PendingImport, pending_id)
    if pending is None or pending.team_id != team_id or pending.user_id != user_id:
        return None
    created = pending.created_at
    if created.tzinfo is None:  # SQLite hands back naive UTC
        created = created.replace(tzinfo=UTC)
    if created < now - max_age:
        return None
    return pending


def delete_pending_import(*, session: Session, pending_id: str) -> None:
    session.execute(delete(PendingImport).where(col(PendingImport.id) == pending_id))
