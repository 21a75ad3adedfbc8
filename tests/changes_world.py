"""A small workspace for the change-request tests (storage.changes): four schools, their
kulturkontakter and a tour plan, and the tour plan as CSV to import again, changed.

- Ås ungdomsskole and Nordby skole share one kulturkontakt on Slack (KARI);
- Brekke skole's kulturkontakt is OLA;
- Vestby skole's kulturkontakt is not on Slack (a coordinator files for it);
- Kroer skole has only a performance before the round: it is not in the round.

NOW is Tuesday 24 November 2026, 10:00 in Oslo; the round closes Friday 4 December, so the
follow-ups fall on Friday 27 November and Wednesday 2 December at 09:00.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from storage.changes import RequestInput, RoundOpened, open_round
from storage.contacts import save_contact
from storage.db import session_scope
from storage.importers.tourplan import TourplanResult, import_tourplan, parse_tourplan
from storage.models import Contact, Municipality, Performance, School, Workspace
from tests import conftest

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CLOSING = date(2026, 12, 4)
TEAM = conftest.TEAM  # the fake Slack's workspace, so scenarios over HTTP can use the world
KARI = "U0KARI"  # kulturkontakt at Ås ungdomsskole and Nordby skole
OLA = "U0OLA"  # kulturkontakt at Brekke skole
COORDINATOR = conftest.ADMIN  # a workspace admin: a coordinator
STRANGER = "U0FREMMED"

HEADER = "forestilling_id;produksjon;kunstuttrykk;skole;kommune;dato;start;slutt;sted;trinn;elever"
# forestilling_id → (production, art form, school, municipality, date, start, end)
PLAN: dict[str, tuple[str, str, str, str, str, str, str]] = {
    "AS-1": (
        "Fyrvokterens dagbok",
        "kulturarv",
        "Ås ungdomsskole",
        "Ås",
        "03.12.2026",
        "10:00",
        "11:00",
    ),
    "AS-2": (
        "Strykere på skolebesøk",
        "musikk",
        "Ås ungdomsskole",
        "Ås",
        "14.01.2027",
        "09:00",
        "09:45",
    ),
    "NO-1": (
        "Fyrvokterens dagbok",
        "kulturarv",
        "Nordby skole",
        "Ås",
        "04.12.2026",
        "12:00",
        "13:00",
    ),
    "BR-1": (
        "Strykere på skolebesøk",
        "musikk",
        "Brekke skole",
        "Ås",
        "08.12.2026",
        "10:00",
        "10:45",
    ),
    "VE-1": (
        "Dansen i oss",
        "scenekunst",
        "Vestby skole",
        "Vestby",
        "09.12.2026",
        "11:00",
        "12:00",
    ),
    "KR-1": ("Dansen i oss", "scenekunst", "Kroer skole", "Ås", "10.11.2026", "11:00", "12:00"),
}


def plan_csv(
    changes: Mapping[str, tuple[str, str] | None] | None = None,
    *,
    only: set[str] | None = None,
    extra: Mapping[str, tuple[str, str, str, str, str, str, str]] | None = None,
    cancelled: set[str] | None = None,
) -> bytes:
    """The plan as the county sends it: `changes` moves a performance to (date, start) (None
    drops it), `only` keeps those ids, `extra` adds rows, `cancelled` marks rows «avlyst»."""
    lines = [HEADER + ";avlyst"]
    rows = dict(PLAN)
    rows.update(extra or {})
    for key, (title, art, school, muni, day, start, end) in rows.items():
        if only is not None and key not in only:
            continue
        if changes and key in changes:
            moved = changes[key]
            if moved is None:
                continue
            day, start = moved
            hour, minute = (int(p) for p in start.split(":"))
            end = f"{hour + 1:02d}:{minute:02d}"
        flag = "ja" if cancelled and key in cancelled else ""
        lines.append(
            ";".join([key, title, art, school, muni, day, start, end, "Aulaen", "5-7", "40", flag])
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def import_plan(
    engine: Engine,
    raw: bytes,
    *,
    now: datetime = NOW,
    source: str = "turneplan.csv",
    user_id: str | None = COORDINATOR,
) -> TourplanResult:
    with session_scope(engine, write=True) as session:
        return import_tourplan(
            session=session,
            team_id=TEAM,
            data=parse_tourplan(raw),
            tz=OSLO,
            now=now,
            source=source,
            user_id=user_id,
        )


def build_world(engine: Engine, team_id: str = TEAM) -> dict[str, int]:
    """The workspace, its schools and contacts, and the plan; returns school ids by name."""
    with session_scope(engine, write=True) as session:
        session.merge(Workspace(team_id=team_id, seeded_at=NOW))
    with session_scope(engine, write=True) as session:
        places = {}
        for name in ("Ås", "Vestby"):
            place = Municipality(team_id=team_id, name=name)
            session.add(place)
            session.flush()
            places[name] = place.id
        schools = {}
        for name, muni in (
            ("Ås ungdomsskole", "Ås"),
            ("Nordby skole", "Ås"),
            ("Brekke skole", "Ås"),
            ("Vestby skole", "Vestby"),
            ("Kroer skole", "Ås"),
        ):
            school = School(team_id=team_id, name=name, municipality_id=places[muni])
            session.add(school)
            session.flush()
            schools[name] = school.id
        for name, school, user in (
            ("Kari Kulturkontakt", "Ås ungdomsskole", KARI),
            ("Kari Kulturkontakt", "Nordby skole", KARI),
            ("Ola Olsen", "Brekke skole", OLA),
            ("Vera Vestby", "Vestby skole", None),
        ):
            save_contact(
                session=session,
                contact=Contact(
                    team_id=team_id,
                    name=name,
                    role="Kulturkontakt",
                    slack_user_id=user,
                    school_id=schools[school],
                ),
            )
        # A rektor with a Slack id is no kulturkontakt: she may not file for the school.
        save_contact(
            session=session,
            contact=Contact(
                team_id=team_id,
                name="Rita Rektor",
                role="Rektor",
                slack_user_id=STRANGER,
                school_id=schools["Brekke skole"],
            ),
        )
    with session_scope(engine, write=True) as session:
        import_tourplan(
            session=session, team_id=team_id, data=parse_tourplan(plan_csv()), tz=OSLO, now=NOW
        )
    return schools


def performance_ids(session: Session, team_id: str = TEAM) -> dict[str, int]:
    stmt = select(Performance).where(col(Performance.team_id) == team_id)
    return {p.external_key: int(p.id) for p in session.exec(stmt) if p.id is not None}


def opened_round(engine: Engine, *, now: datetime = NOW, closing: date = CLOSING) -> RoundOpened:
    with session_scope(engine, write=True) as session:
        return open_round(
            session=session,
            team_id=TEAM,
            closing_date=closing,
            user_id=COORDINATOR,
            now=now,
            tz=OSLO,
        )


def request_input(session: Session, school_id: int, key: str, **fields: object) -> RequestInput:
    """A valid request about performance `key`; `fields` override any field."""
    values: dict[str, object] = {
        "school_id": school_id,
        "performance_id": performance_ids(session)[key],
        "reason": "day_off",
        "wished_date": date(2026, 12, 10),
        "contact_person": "Kari Kulturkontakt, 900 00 000",
        "comment": "Planleggingsdag denne dagen.",
    }
    values.update(fields)
    return RequestInput(**values)  # type: ignore[arg-type]
