"""One person's data in a workspace, for an access or erasure request (GDPR art. 15 and 17).

A person is named by Slack user id(s) and/or e-mail address(es) (contacts without Slack).
Their rows are found in every table of the workspace (storage.dataprotection reflects them):

- rows with their id or address in a column listed in `PERSON_COLUMNS`, which also says what
  an erasure does there (`Erase`);
- rows that mention the id or address anywhere in their text (a JSON payload, an audit
  entry's changes, a note): those mentions are replaced with `ERASED`, or the row goes if it
  is only about them (`MENTION_DELETES`); an audit entry that mentions them in its changes,
  or records a change to their contact entry, keeps the event and loses the details.

Anonymous feedback answers hold no user id, and are never looked for by their HMAC key
(storage.feedback.respondent_key): they are nobody's to find, the sender's included.
`unreviewed_columns` lists columns that look like they hold a person (`user_id`, `…_by`,
`email`, `target`) but are in neither list, so a new one cannot be forgotten.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from storage.dataprotection import (
    SOURCE_WORDING,
    ExportedTable,
    Wording,
    WorkspaceTable,
    is_omitted,
    utc_moment_text,
    workspace_tables,
    write_zip,
)

# Put where an erased person's id or address was: the event stays, nobody is named. Shown as
# «en slettet bruker» (handlers.core.format.mention).
ERASED = "[slettet]"

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


class Erase(StrEnum):
    DELETE = "delete"  # the row is theirs: it goes
    DETACH = "detach"  # a named feedback answer: the ratings stay, who and what they wrote go
    MARK = "mark"  # the event stays; their id becomes ERASED
    CLEAR = "clear"  # a reference to them on someone else's row becomes NULL


@dataclass(frozen=True)
class PersonColumn:
    table: str
    column: str
    erase: Erase
    why: str
    by: Literal["user", "email"] = "user"


PERSON_COLUMNS: tuple[PersonColumn, ...] = (
    PersonColumn("contact", "slack_user_id", Erase.DELETE, "their entry in the directory"),
    PersonColumn("contact", "email", Erase.DELETE, "their entry in the directory", by="email"),
    PersonColumn("coordinator", "user_id", Erase.DELETE, "their role"),
    PersonColumn("coordinator", "added_by", Erase.CLEAR, "who gave someone else the role"),
    PersonColumn("feedbackanswer", "user_id", Erase.DETACH, "their named feedback answer"),
    PersonColumn("audit_entry", "user_id", Erase.MARK, "a change they made"),
    PersonColumn("deadline_done", "done_by", Erase.MARK, "a deadline they marked done"),
    PersonColumn("reminder_channel_change", "user_id", Erase.MARK, "a channel they chose"),
    PersonColumn("calendar_feed", "token_created_by", Erase.CLEAR, "who made the feed's link"),
    PersonColumn("pending_import", "user_id", Erase.DELETE, "a file they uploaded, unconfirmed"),
    PersonColumn("outbox_message", "target", Erase.DELETE, "a direct message to them"),
    PersonColumn("slack_installations", "user_id", Erase.MARK, "who installed the app"),
    PersonColumn("user_language", "user_id", Erase.DELETE, "the language they chose"),
    PersonColumn("change_round", "opened_by", Erase.MARK, "a change-request round they opened"),
    PersonColumn("change_answer", "answered_by", Erase.MARK, "a school's answer they gave"),
    PersonColumn("change_request", "filed_by", Erase.MARK, "a change request they filed"),
    PersonColumn("change_request", "updated_by", Erase.MARK, "a change request they edited"),
    PersonColumn("change_request", "status_by", Erase.MARK, "a change request they decided on"),
)
# Columns whose name looks like a person's but which hold none.
NOT_PERSONAL: dict[tuple[str, str], str] = {
    ("outbox_message", "claimed_by"): "the scheduler process holding the row",
    ("slack_installations", "bot_user_id"): "the bot's own Slack user",
    ("slack_bots", "bot_user_id"): "the bot's own Slack user",
}
# A row of these tables that mentions them in this column is about them: it goes.
MENTION_DELETES: dict[str, str] = {
    "outbox_message": "payload",  # a snoozed reminder of theirs, a prompt about them
    "pending_import": "content",  # an upload waiting for «ok» that lists them
}
# An erased named answer keeps its ratings (the municipality's statistics stay right) and
# loses everything they wrote or that links it to them.
_DETACHED_ANSWER: dict[str, Any] = {
    "user_id": None,
    "respondent_key": None,
    "anonymous": True,
    "free_comment": None,
    **{f"comment_{q}": None for q in ("overall", "artistic", "relevance", "pupils", "practical")},
}
# An installer's own tokens are theirs (the bot's token stays).
_INSTALLER_TOKENS = ("user_token", "user_refresh_token")
_PERSONISH = re.compile(r"(user_id|_by|email|^target)$")


def parse_user_id(text: str) -> str | None:
    """A Slack user id from «U0123ABC», «<@U0123ABC|kari>» or «@U0123ABC»; None if not one."""
    value = text.strip().removeprefix("<").removesuffix(">").lstrip("@").split("|")[0].upper()
    return value if _USER_ID.match(value) else None


def parse_email(text: str) -> str | None:
    value = text.strip().lower()
    return value if _EMAIL.match(value) else None


@dataclass(frozen=True)
class Person:
    user_ids: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()  # lower-case
    # Whole ids and addresses only: U0KARI is not a mention of U0KAR.
    patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        found = [rf"(?<![A-Za-z0-9]){re.escape(u)}(?![A-Za-z0-9])" for u in self.user_ids]
        found += [rf"(?i)(?<![\w.+-]){re.escape(e)}(?![\w.-])" for e in self.emails]
        object.__setattr__(self, "patterns", tuple(re.compile(p) for p in found))

    def _texts(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False)
        return value if isinstance(value, str) else None

    def mentioned_in(self, value: Any) -> bool:
        text = self._texts(value)
        return text is not None and any(p.search(text) for p in self.patterns)

    def scrub(self, value: Any) -> Any:
        """`value` with every mention of them replaced by ERASED (JSON stays JSON)."""
        text = self._texts(value)
        if text is None:
            return value
        for pattern in self.patterns:
            text = pattern.sub(ERASED, text)
        return json.loads(text) if isinstance(value, dict | list) else text

    def owns(self, rule: PersonColumn, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if rule.by == "email":
            return value.strip().lower() in self.emails
        return value in self.user_ids


@dataclass
class RowPlan:
    """What an erasure does to one row: delete it, or change these columns."""

    row: dict[str, Any]
    key: dict[str, Any]
    delete: bool = False
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class TablePlan:
    wt: WorkspaceTable
    rows: list[RowPlan]

    @property
    def deleted(self) -> int:
        return sum(1 for r in self.rows if r.delete)

    @property
    def changed(self) -> int:
        return sum(1 for r in self.rows if not r.delete)


@dataclass
class PersonData:
    team_id: str
    person: Person
    tables: list[TablePlan]

    def __bool__(self) -> bool:
        return any(t.rows for t in self.tables)

    def counts(self) -> dict[str, tuple[int, int]]:
        """(rows deleted, rows changed) per table, for the confirmation."""
        return {t.wt.name: (t.deleted, t.changed) for t in self.tables if t.rows}

    def linked_user_ids(self) -> list[str]:
        """Slack users of contact entries found by address, not named in the request."""
        found = {
            r.row.get("slack_user_id")
            for t in self.tables
            if t.wt.name == "contact"
            for r in t.rows
        }
        return sorted(u for u in found if u and u not in self.person.user_ids)


def _text_columns(wt: WorkspaceTable) -> list[sa.Column[Any]]:
    return [
        c
        for c in wt.table.columns
        if isinstance(c.type, sa.String | sa.JSON) and not is_omitted(wt.name, c.name)
    ]


def _mentions(column: sa.Column[Any], person: Person) -> list[sa.ColumnElement[bool]]:
    """A coarse SQL filter; `Person.mentioned_in` decides."""
    text: Any = sa.cast(column, sa.Text) if isinstance(column.type, sa.JSON) else column
    found = [text.contains(u, autoescape=True) for u in person.user_ids]
    found += [sa.func.lower(text).contains(e, autoescape=True) for e in person.emails]
    return found


def _plan_row(
    wt: WorkspaceTable, row: dict[str, Any], person: Person, contacts: set[Any]
) -> RowPlan:
    name = wt.name
    key = {c.name: row[c.name] for c in wt.table.primary_key.columns}
    plan = RowPlan(row=row, key=key)
    ruled = set()
    for rule in PERSON_COLUMNS:
        if rule.table != name or rule.column not in row:
            continue
        ruled.add(rule.column)
        if not person.owns(rule, row[rule.column]):
            continue
        if rule.erase is Erase.DELETE:
            plan.delete = True
        elif rule.erase is Erase.DETACH:
            if not row.get("anonymous"):
                plan.changes.update({k: v for k, v in _DETACHED_ANSWER.items() if k in row})
        elif rule.erase is Erase.MARK:
            plan.changes[rule.column] = ERASED
        else:
            plan.changes[rule.column] = None
        if name == "slack_installations":
            plan.changes.update({t: None for t in _INSTALLER_TOKENS if row.get(t) is not None})
    if name in MENTION_DELETES and person.mentioned_in(row.get(MENTION_DELETES[name])):
        plan.delete = True
    if name == "audit_entry" and (
        person.mentioned_in(row.get("changes"))
        or (row.get("item_kind") == "contact" and row.get("item_id") in contacts)
    ):
        # The entry's details are their data (a contact's whole row, their id); the event stays.
        plan.changes.update(summary=ERASED, changes=None)
    for column in _text_columns(wt):
        if column.name in ruled or column.name in plan.changes:
            continue
        if person.mentioned_in(row.get(column.name)):
            plan.changes[column.name] = person.scrub(row[column.name])
    return plan


def find_person(*, session: Session, team_id: str, person: Person) -> PersonData:
    """Every row of the workspace that is theirs or mentions them, and what erasing does."""
    connection = session.connection()
    tables = workspace_tables(connection)
    contacts: set[Any] = set()
    plans: list[TablePlan] = []
    # Contacts first: audit entries about their contact entries are found by its id.
    for wt in sorted(tables, key=lambda w: w.name != "contact"):
        rows = _candidates(connection, wt, team_id, person, contacts)
        planned = [_plan_row(wt, row, person, contacts) for row in rows]
        planned = [p for p in planned if p.delete or p.changes]
        if wt.name == "contact":
            contacts = {p.row["id"] for p in planned if p.delete}
        plans.append(TablePlan(wt, planned))
    order = {wt.name: i for i, wt in enumerate(tables)}
    plans.sort(key=lambda p: order[p.wt.name])
    return PersonData(team_id=team_id, person=person, tables=plans)


def _candidates(
    connection: Connection, wt: WorkspaceTable, team_id: str, person: Person, contacts: set[Any]
) -> list[dict[str, Any]]:
    found: list[sa.ColumnElement[bool]] = []
    for column in _text_columns(wt):
        found += _mentions(column, person)
    if wt.name == "audit_entry" and contacts:
        c = wt.table.c
        found.append(sa.and_(c.item_kind == "contact", c.item_id.in_(sorted(contacts))))
    if not found:
        return []
    keys = list(wt.table.primary_key.columns)
    if not keys:
        raise RuntimeError(f"table {wt.name} has no primary key: its rows cannot be erased")
    stmt = sa.select(wt.table).where(wt.where(team_id), sa.or_(*found)).order_by(*keys)
    return [dict(r) for r in connection.execute(stmt).mappings()]


def export_person(
    *, session: Session, data: PersonData, now: datetime, wording: Wording = SOURCE_WORDING
) -> bytes:
    """Their rows as a zip: CSV and JSON per table, and a README in `wording` (the
    workspace's language)."""
    del session  # the rows were read by find_person in this session
    tables = []
    for plan in data.tables:
        if not plan.rows:
            continue
        columns = [c.name for c in plan.wt.exported_columns()]
        rows = [{c: r.row[c] for c in columns} for r in plan.rows]
        omitted = [c.name for c in plan.wt.table.columns if is_omitted(plan.wt.name, c.name)]
        tables.append(ExportedTable(plan.wt.name, columns, rows, omitted))
    who = ", ".join([*data.person.user_ids, *data.person.emails])
    intro = wording.gettext(
        "Det DKS-boten har lagret om %(who)s i Slack-arbeidsområdet %(team)s, eksportert "
        "%(when)s.\n"
        "Med er rader som er knyttet til personen (kontaktopplysninger, roller, "
        "tilbakemeldinger med navn, endringer personen har gjort) og rader som nevner "
        "personens Slack-ID eller e-postadresse. Anonyme tilbakemeldinger er ikke med: de er "
        "ikke knyttet til noen. Meldinger i Slack ligger hos Slack, ikke hos boten."
    ) % {"who": who, "team": data.team_id, "when": utc_moment_text(now, wording)}
    return write_zip(intro, tables, wording)


def erase_person(*, session: Session, team_id: str, person: Person) -> dict[str, tuple[int, int]]:
    """Erase them from the workspace in the session's transaction; (deleted, changed) per table.

    Their own rows go; a named answer keeps its ratings; events they took part in stay with
    their id replaced by ERASED (see PERSON_COLUMNS and docs/operations.md).
    """
    data = find_person(session=session, team_id=team_id, person=person)
    connection = session.connection()
    for plan in reversed(data.tables):  # children before parents
        table = plan.wt.table
        for row in plan.rows:
            where = sa.and_(*(table.c[k] == v for k, v in row.key.items()))
            if row.delete:
                connection.execute(sa.delete(table).where(where))
            else:
                connection.execute(sa.update(table).where(where).values(**row.changes))
    session.expire_all()
    return data.counts()


def unreviewed_columns(connection: Connection) -> list[str]:
    """`table.column`s that look like they name a person but have no rule here."""
    known = {(r.table, r.column) for r in PERSON_COLUMNS} | set(NOT_PERSONAL)
    return sorted(
        f"{wt.name}.{c.name}"
        for wt in workspace_tables(connection)
        for c in wt.table.columns
        if _PERSONISH.search(c.name) and (wt.name, c.name) not in known
    )


def person_of(user_ids: Iterable[str], emails: Iterable[str]) -> Person:
    return Person(tuple(dict.fromkeys(user_ids)), tuple(dict.fromkeys(e.lower() for e in emails)))


def summary_lines(
    counts: dict[str, tuple[int, int]], *, width: int = 26, wording: Wording = SOURCE_WORDING
) -> Sequence[str]:
    """«  contact   1 slettes» lines for the confirmation and the report."""
    _ = wording.gettext
    lines = []
    for name, (deleted, changed) in counts.items():
        parts = []
        if deleted:
            parts.append(_("%(n)d slettes") % {"n": deleted})
        if changed:
            parts.append(_("%(n)d endres") % {"n": changed})
        lines.append(f"  {name:<{width}} {', '.join(parts)}")
    return lines
