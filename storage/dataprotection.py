"""Data protection (GDPR): everything stored about one workspace, exported or deleted.

The tables are found by reflecting the live database, never from a list kept by hand: every
table with a `team_id` column belongs to workspaces (slack_sdk's installation tables
included), and a table without one belongs to them through its foreign keys (its rows are
those whose parent row is the workspace's). A table that is neither must be named in
`EXCLUDED_TABLES` with the reason, or `workspace_tables` refuses to work: a new table can not
be forgotten by an export or a deletion.

- `export_workspace`: a zip with one CSV (UTF-8 with BOM, `;`, as the feedback export) and one
  JSON file per table, and a README.txt in the workspace's language. Credentials are left out
  (`OMITTED_COLUMNS`).
- `delete_workspace`: every row of the workspace, children before parents, in the caller's
  transaction: all or nothing.
- `purge_expired_workspaces`: the retention rule (DATA_RETENTION_DAYS after an uninstall).

One person's data (an access or erasure request) is storage/personal_data.py.

The README's words are bokmål marked `_()`/`N_()` here and translated by the `Wording` the
caller passes (bot/cli/dataprotection.py passes the workspace's language): storage imports no
handlers, so it has no language of its own. Table and column names are the database's.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from babel.dates import format_date
from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlmodel import Session

from storage.db import session_scope

log = logging.getLogger(__name__)


def N_(message: str) -> str:
    """Marks a bokmål message for the catalogs; the caller's `Wording` translates it."""
    return message


def _source(message: str) -> str:
    return message


def _source_plural(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


def _source_day(day: date) -> str:
    return format_date(day, "d. MMMM y", locale="nb_NO")


@dataclass(frozen=True)
class Wording:
    """How an export's README speaks: `gettext` and `ngettext` translate the bokmål marked in
    this module, `day` writes a date. The default is the source language, bokmål."""

    gettext: Callable[[str], str] = field(default=_source)
    ngettext: Callable[[str, str, int], str] = field(default=_source_plural)
    day: Callable[[date], str] = field(default=_source_day)


SOURCE_WORDING = Wording()

# Tables that hold no workspace's data, and why. Everything else must be reachable from a
# `team_id` (workspace_tables checks).
EXCLUDED_TABLES: Mapping[str, str] = {
    "alembic_version": "the schema's revision; no data of anyone",
    "slack_oauth_states": (
        "a browser's state during «Add to Slack», before Slack has said which workspace it "
        "is; it has no team and expires after ten minutes"
    ),
    "request_replay": (
        "the signatures and event ids of requests already handled (a replay guard): opaque "
        "keys with no team, pruned after fifteen minutes"
    ),
}

# Credentials are never exported: Slack's tokens (any table that has such a column), and the
# secrets of this bot's own.
SECRET_COLUMN_NAMES: Mapping[str, str] = {
    "bot_token": N_("Slack-token"),
    "bot_refresh_token": N_("Slack-token"),
    "user_token": N_("Slack-token"),
    "user_refresh_token": N_("Slack-token"),
    "incoming_webhook_url": N_("en adresse som kan poste i en kanal (virker som et passord)"),
}
OMITTED_COLUMNS: Mapping[tuple[str, str], str] = {
    ("calendar_feed", "token"): N_("den hemmelige delen av adressen til kalenderabonnementet"),
    ("feedbackanswer", "respondent_key"): N_(
        "nøkkelen som lar avsenderen endre et svar de første dagene; den kan knytte et anonymt "
        "svar til avsenderen"
    ),
}

# What each file holds, for the README. A table without a line here is still exported.
TABLE_DESCRIPTIONS: Mapping[str, str] = {
    "workspace": N_(
        "Innstillingene for arbeidsområdet: påminnelseskanal, pause, språk, når boten ble "
        "fjernet fra Slack."
    ),
    "user_language": N_("Språket hver person har valgt for seg selv (Slack-bruker-ID)."),
    "data_version": N_(
        "Tellere for endringer, som boten bruker for å vite når kopiene i minnet må leses på nytt."
    ),
    "coordinator": N_(
        "Personer som er lagt til som koordinatorer (Slack-bruker-ID), og hvem som la dem til."
    ),
    "reminder_channel_change": N_("Hvem som valgte kanal for påminnelser, og når."),
    "audit_entry": N_(
        "Endringsloggen: hvem som endret frister, møter, kontakter, skoler og roller, når og hva."
    ),
    "pending_import": N_("Opplastede filer som venter på at en koordinator bekrefter importen."),
    "calendar_feed": N_("Kalenderabonnementet: når lenken ble laget og av hvem."),
    "deadline": N_("Frister."),
    "meeting": N_("Møter og samlinger."),
    "deadline_done": N_("Frister som er merket som ferdige: av hvem og når."),
    "municipality": N_("Kommuner."),
    "school": N_("Skoler."),
    "contact": N_("Kontaktpersoner: navn, rolle, e-post, telefon og Slack-bruker."),
    "production": N_("Produksjoner i turnéplanen."),
    "performance": N_("Forestillinger i turnéplanen."),
    "tourplanstate": N_("Versjonsteller for turnéplanen."),
    "feedbackanswer": N_(
        "Tilbakemeldinger etter forestillinger. Anonyme svar har ingen bruker-ID."
    ),
    "change_round": N_(
        "Runder med endringsønsker til turnéplanen: fristen, og hvem som åpnet runden og når."
    ),
    "change_answer": N_(
        "Skolenes svar i hver runde (endringer eller «alt ser bra ut»), av hvem og når."
    ),
    "change_request": N_(
        "Endringsønsker til turnéplanen: forestilling, grunn, ønsket tid, kontaktperson, "
        "kommentar, status, og hvem som meldte og behandlet dem."
    ),
    "outbox_message": N_(
        "Meldinger boten har sendt eller skal sende: påminnelser, spørsmål om tilbakemelding."
    ),
    "outbox_alert": N_("Varsler til koordinatorer om meldinger som ikke kom fram."),
    "slack_installations": N_(
        "Installasjonen av boten i Slack: hvem som installerte, når, og med hvilke tillatelser."
    ),
    "slack_bots": N_("Botbrukeren i arbeidsområdet og tillatelsene den har."),
}

# At most this many rounds of deleting: database triggers (migration 0006) write a
# `data_version` row for the workspace when its other rows are deleted, so a second round
# takes that row too; a third finds nothing.
_DELETE_ROUNDS = 4


class UnscopedTableError(RuntimeError):
    """A table neither has `team_id`, nor reaches one by foreign keys, nor is excluded."""


Scope = Callable[[str], sa.ColumnElement[bool]]


@dataclass(frozen=True)
class WorkspaceTable:
    """A reflected table and how to find one workspace's rows in it."""

    table: sa.Table
    scope: Scope

    @property
    def name(self) -> str:
        return self.table.name

    def where(self, team_id: str) -> sa.ColumnElement[bool]:
        return self.scope(team_id)

    def exported_columns(self) -> list[sa.Column[Any]]:
        return [c for c in self.table.columns if not is_omitted(self.name, c.name)]


def is_omitted(table: str, column: str) -> bool:
    return column in SECRET_COLUMN_NAMES or (table, column) in OMITTED_COLUMNS


def omitted_reason(table: str, column: str, wording: Wording = SOURCE_WORDING) -> str:
    return wording.gettext(OMITTED_COLUMNS.get((table, column)) or SECRET_COLUMN_NAMES[column])


def _direct_scope(table: sa.Table) -> Scope:
    column = table.c.team_id
    return lambda team_id: column == team_id


def _parent_scope(fk: sa.ForeignKeyConstraint, parent: Scope) -> Scope:
    local = list(fk.columns)
    remote = [element.column for element in fk.elements]

    def scope(team_id: str) -> sa.ColumnElement[bool]:
        rows = sa.select(*remote).where(parent(team_id))
        if len(local) == 1:
            return local[0].in_(rows)
        return sa.tuple_(*local).in_(rows)

    return scope


def workspace_tables(connection: Connection) -> list[WorkspaceTable]:
    """Every table holding workspace rows, from the live database, parents before children.

    Raises UnscopedTableError naming any table that is none of: has `team_id`, reaches a
    table that has by foreign keys, is listed in EXCLUDED_TABLES.
    """
    metadata = sa.MetaData()
    metadata.reflect(bind=connection)
    scopes: dict[str, Scope] = {
        t.name: _direct_scope(t) for t in metadata.tables.values() if "team_id" in t.c
    }
    pending = [
        t
        for t in metadata.tables.values()
        if t.name not in scopes and t.name not in EXCLUDED_TABLES
    ]
    # Follow foreign keys until nothing more is reached (a chain of any length).
    while pending:
        reached = []
        for table in pending:
            for fk in sorted(table.foreign_key_constraints, key=lambda f: f.referred_table.name):
                parent = scopes.get(fk.referred_table.name)
                if parent is not None:
                    scopes[table.name] = _parent_scope(fk, parent)
                    reached.append(table)
                    break
        if not reached:
            names = ", ".join(sorted(t.name for t in pending))
            raise UnscopedTableError(
                f"table(s) {names} have no team_id and no foreign key to a workspace's "
                "table: give them team_id, or list them in "
                "storage.dataprotection.EXCLUDED_TABLES with the reason"
            )
        pending = [t for t in pending if t not in reached]
    return [
        WorkspaceTable(table=t, scope=scopes[t.name])
        for t in metadata.sorted_tables
        if t.name in scopes
    ]


def workspace_counts(*, session: Session, team_id: str) -> dict[str, int]:
    """Rows of the workspace per table (tables without any are left out), by table name."""
    connection = session.connection()
    counts: dict[str, int] = {}
    for wt in workspace_tables(connection):
        stmt = sa.select(sa.func.count()).select_from(wt.table).where(wt.where(team_id))
        found = connection.execute(stmt).scalar_one()
        if found:
            counts[wt.name] = found
    return dict(sorted(counts.items()))


def delete_workspace(*, session: Session, team_id: str) -> dict[str, int]:
    """Delete every row of the workspace, in the session's transaction; rows deleted per table.

    Children go first, so no foreign key is ever left dangling.
    """
    connection = session.connection()
    tables = list(reversed(workspace_tables(connection)))
    deleted: dict[str, int] = {}
    for round_ in range(_DELETE_ROUNDS):
        this_round = 0
        for wt in tables:
            result = connection.execute(sa.delete(wt.table).where(wt.where(team_id)))
            this_round += result.rowcount
            # Later rounds only take what the triggers wrote while the first one deleted.
            if result.rowcount and round_ == 0:
                deleted[wt.name] = result.rowcount
        if not this_round:
            break
    else:
        raise RuntimeError(f"rows of {team_id} kept coming back after {_DELETE_ROUNDS} rounds")
    session.expire_all()
    return dict(sorted(deleted.items()))


# --- export ---------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A JSON-friendly value: instants (in UTC), dates and times as ISO 8601 text."""
    if isinstance(value, datetime):
        return _as_utc(value).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return value.hex()
    return value


# Excel runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any, wording: Wording = SOURCE_WORDING) -> str:
    _ = wording.gettext
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("ja") if value else _("nei")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return str(value)


def to_csv(
    columns: Sequence[str], rows: Iterable[Mapping[str, Any]], wording: Wording = SOURCE_WORDING
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row[c], wording) for c in columns])
    # The BOM tells Excel the file is UTF-8; without it «Ås» turns into «Ã…s».
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def to_json(rows: Iterable[Mapping[str, Any]]) -> bytes:
    data = [{k: plain(v) for k, v in row.items()} for row in rows]
    return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")


@dataclass(frozen=True)
class ExportedTable:
    name: str
    columns: list[str]
    rows: list[dict[str, Any]]
    omitted: list[str]


def rows_text(count: int, wording: Wording = SOURCE_WORDING) -> str:
    """«1 rad», «12 rader»."""
    return wording.ngettext("%(n)d rad", "%(n)d rader", count) % {"n": count}


def utc_moment_text(moment: datetime, wording: Wording = SOURCE_WORDING) -> str:
    """«4. desember 2026 kl. 10:00 UTC»."""
    moment = moment.astimezone(UTC)
    return wording.gettext("%(day)s kl. %(time)s UTC") % {
        "day": wording.day(moment.date()),
        "time": f"{moment:%H:%M}",
    }


def write_zip(
    intro: str, tables: Sequence[ExportedTable], wording: Wording = SOURCE_WORDING
) -> bytes:
    """The export: README.txt, then `<table>.csv` and `<table>.json` for each table."""
    _ = wording.gettext
    lines = [intro, "", *(_(line) for line in _README_FORMAT), "", _("Filene:")]
    for t in tables:
        described = TABLE_DESCRIPTIONS.get(t.name)
        lines.append(
            _("- %(table)s.csv og %(table)s.json (%(rows)s): %(description)s")
            % {
                "table": t.name,
                "rows": rows_text(len(t.rows), wording),
                "description": _(described) if described else _("(ingen beskrivelse)"),
            }
        )
    omitted = [(t.name, c) for t in tables for c in t.omitted]
    if omitted:
        lines += ["", _("Utelatt med vilje:")]
        lines += [f"- {name}.{c}: {omitted_reason(name, c, wording)}" for name, c in omitted]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", "\ufeff" + "\r\n".join(lines) + "\r\n")
        for t in tables:
            archive.writestr(f"{t.name}.csv", to_csv(t.columns, t.rows, wording))
            archive.writestr(f"{t.name}.json", to_json(t.rows))
    return buffer.getvalue()


_README_FORMAT = (
    N_("Hver tabell i databasen har to filer med de samme radene:"),
    N_(
        "- .csv for Excel: UTF-8, semikolon mellom feltene. Tekst som begynner med =, +, - eller "
        "@ har fått ' foran seg, så Excel ikke leser den som en formel."
    ),
    N_("- .json med verdiene nøyaktig som de er lagret."),
    N_("Tidspunkter er i UTC."),
)


def export_workspace(
    *, session: Session, team_id: str, now: datetime, wording: Wording = SOURCE_WORDING
) -> bytes:
    """Every table's rows of the workspace as a zip (see the module's docstring), its README
    in `wording` (the workspace's language)."""
    connection = session.connection()
    tables = []
    for wt in sorted(workspace_tables(connection), key=lambda w: w.name):
        columns = wt.exported_columns()
        order = [c for c in wt.table.primary_key.columns] or columns[:1]
        stmt = sa.select(*columns).where(wt.where(team_id)).order_by(*order)
        rows = [dict(r) for r in connection.execute(stmt).mappings()]
        omitted = [c.name for c in wt.table.columns if is_omitted(wt.name, c.name)]
        tables.append(ExportedTable(wt.name, [c.name for c in columns], rows, omitted))
    intro = wording.gettext(
        "Alt DKS-boten har lagret om Slack-arbeidsområdet %(team)s, eksportert %(when)s."
    ) % {"team": team_id, "when": utc_moment_text(now, wording)}
    return write_zip(intro, tables, wording)


# --- retention ------------------------------------------------------------------------------


def _as_utc(moment: datetime) -> datetime:
    # SQLite hands instants back naive; every instant in this database is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _reinstalled_since(connection: Connection, team_id: str, uninstalled_at: datetime) -> bool:
    """Has «Add to Slack» stored a bot for the workspace after it was uninstalled?"""
    inspector = sa.inspect(connection)
    if not inspector.has_table("slack_bots"):
        return False
    bots = sa.table(
        "slack_bots", sa.column("team_id", sa.String), sa.column("installed_at", sa.DateTime)
    )
    stmt = sa.select(sa.func.max(bots.c.installed_at)).where(bots.c.team_id == team_id)
    latest = connection.execute(stmt).scalar_one_or_none()
    return latest is not None and _as_utc(latest) >= uninstalled_at


def purge_expired_workspaces(*, engine: Engine, now: datetime, retention_days: int) -> list[str]:
    """Delete every workspace uninstalled at least `retention_days` ago; their team ids.

    A reinstall clears `uninstalled_at` (or, with OAuth, stores a newer installation), so a
    workspace that came back within the period is kept. Each workspace is deleted in its own
    transaction, under a lock on its settings row, so a reinstall at the same moment either
    comes first (nothing is deleted) or waits and finds a fresh start.
    """
    workspace = sa.table(
        "workspace",
        sa.column("team_id", sa.String),
        sa.column("uninstalled_at", sa.DateTime(timezone=True)),
    )
    cutoff = now - timedelta(days=retention_days)
    with session_scope(engine) as session:
        stmt = sa.select(workspace.c.team_id, workspace.c.uninstalled_at).where(
            workspace.c.uninstalled_at.is_not(None)
        )
        candidates = [
            team_id for team_id, at in session.connection().execute(stmt) if _as_utc(at) <= cutoff
        ]
    purged = []
    for team_id in candidates:
        with session_scope(engine, write=True) as session:
            connection = session.connection()
            locked = (
                sa.select(workspace.c.uninstalled_at)
                .where(workspace.c.team_id == team_id)
                .with_for_update()
            )
            at = connection.execute(locked).scalar_one_or_none()
            if at is None or _as_utc(at) > cutoff:
                continue  # reinstalled meanwhile
            if _reinstalled_since(connection, team_id, _as_utc(at)):
                continue
            deleted = delete_workspace(session=session, team_id=team_id)
        purged.append(team_id)
        log.info(
            "deleted the data of workspace %s, uninstalled more than %d days ago: %d rows",
            team_id,
            retention_days,
            sum(deleted.values()),
        )
    return purged
