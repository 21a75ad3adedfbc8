"""Shared by the benchmarks: national-scale data, bare Bolt apps, servers and timing.

- `populate_national(engine, teams=[...])` fills a migrated database with what a national,
  multi-workspace install holds: 357 municipalities, 3,200 schools, 20,000 contacts, 5,000
  deadlines and 5,000 meetings, spread over the given workspaces, with Norwegian names and
  letters, folded search keys, and dates around today. Bulk inserts: seconds, not minutes.
- `bare_bolt_app(...)` is the floor to compare with: a Bolt App whose `/dks` acks fixed text.
- `mount(...)`, `gunicorn_subprocess(...)` (and `python -m bench.common serve module:factory`)
  serve WSGI apps on the production server kind (bot.server.GunicornServer, gthread).
- `SlashTimer`, `percentile`, `summarize`: time signed slash commands until the ack body.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx
from dateutil.relativedelta import relativedelta
from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy import Engine, insert, select
from sqlmodel import col

from bot.server import WSGIApp
from bot.shell.signing import signed_headers, slash_command_body
from storage.contacts import contact_search_key
from storage.db import session_scope
from storage.folding import fold, search_key
from storage.importers.calendar import seed_workspace
from storage.models import (
    Contact,
    DatePrecision,
    Deadline,
    Meeting,
    MeetingForm,
    Municipality,
    School,
    Workspace,
    utcnow,
)

REPO = Path(__file__).resolve().parents[1]

# Kulturtanken's figures for the whole country (see ../shared/dks-facts.md).
NATIONAL = {
    "municipalities": 357,
    "schools": 3_200,
    "contacts": 20_000,
    "deadlines": 5_000,
    "meetings": 5_000,
}

# --- Names ---------------------------------------------------------------------------------------

# Real municipalities by county (2024 counties). Duplicated names across counties are real
# (Herøy, Våler, Bø, Os) but a workspace keeps one of each.
COUNTIES: dict[str, str] = {
    "Oslo": "Oslo",
    "Rogaland": (
        "Stavanger Sandnes Haugesund Sola Randaberg Strand Hjelmeland Suldal Sauda Tysvær Karmøy "
        "Bokn Vindafjord Utsira Kvitsøy Eigersund Sokndal Lund Bjerkreim Hå Klepp Time Gjesdal"
    ),
    "Møre og Romsdal": (
        "Ålesund Molde Kristiansund Vanylven Sande Herøy Ulstein Hareid Ørsta Volda Stranda "
        "Sykkylven Fjord Vestnes Rauma Aukra Hustadvika Averøy Gjemnes Tingvoll Sunndal "
        "Surnadal Smøla Aure Giske Haram Sula"
    ),
    "Nordland": (
        "Bodø Narvik Rana Bindal Sømna Brønnøy Vega Vevelstad Alstahaug Leirfjord Vefsn Grane "
        "Hattfjelldal Dønna Nesna Hemnes Lurøy Træna Rødøy Meløy Gildeskål Beiarn Saltdal "
        "Fauske Sørfold Steigen Lødingen Evenes Røst Værøy Flakstad Vestvågøy Vågan Hadsel Bø "
        "Øksnes Sortland Andøy Moskenes Hamarøy Hábmer Herøy"
    ),
    "Østfold": (
        "Fredrikstad Sarpsborg Halden Moss Aremark Marker Rakkestad Skiptvet Råde Hvaler Våler "
        "Indre_Østfold"
    ),
    "Akershus": (
        "Bærum Asker Lillestrøm Lørenskog Ullensaker Nordre_Follo Nesodden Frogn Vestby Ås "
        "Enebakk Rælingen Aurskog-Høland Nittedal Gjerdrum Nes Eidsvoll Nannestad Hurdal "
        "Jevnaker Lunner"
    ),
    "Buskerud": (
        "Drammen Kongsberg Ringerike Lier Øvre_Eiker Modum Krødsherad Flå Nesbyen Gol Hemsedal "
        "Ål Hol Sigdal Rollag Nore_og_Uvdal Hole Flesberg"
    ),
    "Innlandet": (
        "Hamar Ringsaker Gjøvik Lillehammer Elverum Kongsvinger Løten Stange Nord-Odal Sør-Odal "
        "Eidskog Grue Åsnes Våler Åmot Stor-Elvdal Trysil Engerdal Rendalen Tolga Tynset Alvdal "
        "Folldal Os Dovre Lesja Skjåk Lom Vågå Sel Nord-Fron Sør-Fron Ringebu Øyer Gausdal "
        "Østre_Toten Vestre_Toten Gran Søndre_Land Nordre_Land Sør-Aurdal Etnedal Nord-Aurdal "
        "Vestre_Slidre Øystre_Slidre Vang"
    ),
    "Vestfold": "Tønsberg Sandefjord Larvik Horten Holmestrand Færder",
    "Telemark": (
        "Skien Porsgrunn Bamble Kragerø Drangedal Nome Midt-Telemark Seljord Kviteseid Nissedal "
        "Fyresdal Tokke Vinje Tinn Hjartdal Notodden Siljan"
    ),
    "Agder": (
        "Kristiansand Arendal Grimstad Lillesand Vennesla Lindesnes Farsund Flekkefjord "
        "Kvinesdal Sirdal Lyngdal Hægebostad Åseral Bykle Valle Bygland Evje_og_Hornnes Iveland "
        "Birkenes Froland Åmli Gjerstad Vegårshei Tvedestrand Risør"
    ),
    "Vestland": (
        "Bergen Bømlo Stord Fitjar Tysnes Kvinnherad Ullensvang Eidfjord Ulvik Voss Kvam "
        "Samnanger Bjørnafjorden Austevoll Øygarden Askøy Vaksdal Modalen Osterøy Alver "
        "Austrheim Fedje Masfjorden Gulen Solund Hyllestad Høyanger Vik Sogndal Aurland Lærdal "
        "Årdal Luster Askvoll Fjaler Sunnfjord Kinn Bremanger Stad Gloppen Stryn Etne Sveio"
    ),
    "Trøndelag": (
        "Trondheim Steinkjer Namsos Frøya Osen Oppdal Rennebu Røros Holtålen Midtre_Gauldal "
        "Melhus Skaun Malvik Selbu Tydal Meråker Stjørdal Frosta Levanger Verdal Snåsa Lierne "
        "Røyrvik Namsskogan Grong Høylandet Overhalla Flatanger Leka Inderøy Indre_Fosen "
        "Heim Hitra Orkland Åfjord Ørland Nærøysund Rindal"
    ),
    "Troms": (
        "Tromsø Harstad Kvæfjord Tjeldsund Ibestad Gratangen Loabát Bardu Salangen Målselv "
        "Sørreisa Dyrøy Senja Balsfjord Karlsøy Lyngen Storfjord Gáivuotna Skjervøy Nordreisa "
        "Kvænangen"
    ),
    "Finnmark": (
        "Alta Hammerfest Vardø Vadsø Guovdageaidnu Loppa Hasvik Måsøy Nordkapp Porsanger "
        "Kárášjohka Lebesby Gamvik Berlevåg Deatnu Unjárga Båtsfjord Sør-Varanger"
    ),
}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Kari Ingrid Anne Sigrid Åse Solveig Marit Liv Ragnhild Tone Hege Mette Silje Ida Nora "
    "Emma Ingvild Tuva Kjersti Guri Astrid Bjørg Eli Randi Synnøve Torill Gro Aud Øydis Hanne "
    "Ola Per Knut Bjørn Øystein Håkon Lars Jon Nils Terje Geir Trond Svein Arne Rune Tor Jørgen "
    "Magnus Sindre Eirik Ørjan Torbjørn Åsmund Ståle Even Halvor Sverre Vegard Aksel Mathias"
)
LAST_NAMES = _words(
    "Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Jensen Karlsen Johnsen "
    "Pettersen Eriksen Berg Haugen Hagen Johannessen Andreassen Jacobsen Dahl Jørgensen "
    "Halvorsen Henriksen Lund Sørensen Strand Aasen Ødegård Bakke Moen Solberg Løken Nygård "
    "Bråten Rønning Sæther Grønli Fjeld Myklebust Ås Vik Øien Selnæs Rønningen Lien Bøe "
    "Engen Tveit Holm Kvam Aune Ødegaard Brekke Sandvik Mikkelsen Thorsen Knutsen Våge"
)
PLACE_PARTS = _words(
    "Nordby Sentrum Haugen Bakken Solheim Lia Vollen Berg Åsen Fjellet Strand Sjøskogen "
    "Kirkebygda Tangen Holmen Brattås Granli Myra Skogly Løkka Furuset Nyborg Rosenvik Sætre "
    "Hovden Elvebakken Østbyen Vestbyen Sørbyen Lysheim Kvernhus Møllen Torget Hestnes "
    "Fagerlund Bjørkelund Eikeli Furulund Stølen Fossum Kleiva Sandvika Bryne Våland Tveiten"
)
SCHOOL_KINDS = ("skole", "barneskole", "ungdomsskole", "oppvekstsenter", "skule")
PRODUCTIONS = (
    "Peer Gynt for de minste",
    "Jazz i skolesekken",
    "Dans på timeplanen",
    "Min bestemors stemme",
    "Forfatterbesøk: fortellinger fra kysten",
    "Skaperverkstedet",
    "Kunst i skogen",
    "Samisk joik og fortelling",
    "Trollmannen fra Øst",
    "Filmverksted for 7. trinn",
    "Kulturarv: fyrvokterens dagbok",
    "Strykekvartett på skolebesøk",
    "Hip hop-verksted",
    "Teater: Brødrene Løvehjerte",
    "Keramikk med Åse Dahl",
    "Museumsbesøk: vikingtiden",
)
DEADLINE_TEMPLATES = (
    "Påmelding til «{p}»",
    "Rapportering av DKS-arrangementer i {m}",
    "Tilbakemelding på turnéplanen, {m}",
    "Søknadsfrist for kulturskoletime i {m}",
    "Evaluering av «{p}» på {s}",
    "Innspill til DKS-planen for {m}",
    "Budsjettforslag for kulturskolen i {m}",
    "Oppdatere kulturkontakter for {s}",
    "Vertskap og elevarrangører for «{p}»",
    "Transportbestilling til «{p}»",
)
MEETING_KINDS = (
    ("nettverksmøte", "Nettverksmøte for kulturkontakter i {m}"),
    ("kulturkontaktmøte", "Kulturkontaktmøte på {s}"),
    ("fellessamling", "Fellessamling: Fremtidens kulturskole, {c}"),
    ("koordinatorsamling", "Koordinatorsamling i {c}"),
    ("veiledning", "Veiledning av kommunegruppa i {m}"),
    ("samarbeidsmøte", "Samarbeidsmøte kultur og skole i {m}"),
    ("programslipp", "Programslipp for DKS i {c}"),
)
CONTACT_ROLES_SCHOOL = (
    ("kulturkontakt", 5),
    ("rektor", 2),
    ("elevarrangør-ansvarlig", 1),
    ("lærer", 2),
)
CONTACT_ROLES_MUNICIPALITY = (
    ("kommunekontakt", 3),
    ("kulturskolerektor", 2),
    ("rådgiver", 3),
    ("konsulent", 2),
    ("produsent", 1),
)


def municipality_names() -> list[tuple[str, str]]:
    """(name, county) for the 357 municipalities: real names, topped up if the list is short."""
    seen: set[str] = set()
    result: list[tuple[str, str]] = []
    for county, names in COUNTIES.items():
        for raw in names.split():
            name = raw.replace("_", " ")
            if name not in seen:
                seen.add(name)
                result.append((name, county))
    rng = random.Random(357)
    counties = list(COUNTIES)
    while len(result) < NATIONAL["municipalities"]:
        name = f"{rng.choice(('Nord', 'Sør', 'Øvre', 'Indre', 'Ytre'))}-{rng.choice(PLACE_PARTS)}"
        if name not in seen:
            seen.add(name)
            result.append((name, rng.choice(counties)))
    return result[: NATIONAL["municipalities"]]


def _ascii(text: str) -> str:
    return fold(text).replace(" ", "").replace("-", "")


# --- Population ----------------------------------------------------------------------------------


@dataclass
class TeamCounts:
    municipalities: int = 0
    schools: int = 0
    contacts: int = 0
    deadlines: int = 0
    meetings: int = 0

    def __str__(self) -> str:
        return (
            f"{self.municipalities} kommuner, {self.schools} skoler, {self.contacts} kontakter, "
            f"{self.deadlines} frister, {self.meetings} møter"
        )


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` in proportion to `weights`, summing exactly to `total`."""
    raw = [total * w / sum(weights) for w in weights]
    counts = [math.floor(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: counts[i] - raw[i])[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _bulk(engine: Engine, table: Any, rows: list[dict[str, Any]], chunk: int = 2_000) -> None:
    with session_scope(engine, write=True) as session:
        for i in range(0, len(rows), chunk):
            session.execute(insert(table), rows[i : i + chunk])


def populate_national(
    engine: Engine,
    teams: Sequence[str],
    *,
    weights: Sequence[float] | None = None,
    today: date | None = None,
    seed: int = 2026,
    bundled_calendar: bool = True,
    scale: float = 1.0,
) -> dict[str, TeamCounts]:
    """Fill a migrated, empty database with national-scale data spread over `teams`.

    `weights` decides each workspace's share (default: equal). Each workspace is marked as
    seeded and, with `bundled_calendar`, gets the bundled DKS calendar as the bot would give
    it. Dates spread from half a year back to a year and a half ahead of `today`; about 4 %
    of calendar items recur (yearly or monthly), about 3 % are undated.
    """
    if not teams:
        raise ValueError("give at least one team_id")
    weights = list(weights or [1.0] * len(teams))
    if len(weights) != len(teams):
        raise ValueError("one weight per team")
    today = today or date.today()
    rng = random.Random(seed)
    sizes = {k: max(1, round(v * scale)) for k, v in NATIONAL.items()}
    counts = {team: TeamCounts() for team in teams}

    with session_scope(engine, write=True) as session:
        for team in teams:
            session.merge(Workspace(team_id=team, seeded_at=utcnow()))
            if bundled_calendar:
                seed_workspace(session=session, team_id=team)

    # Municipalities: each belongs to one workspace, in proportion to the weights.
    places = municipality_names()[: sizes["municipalities"]]
    rng.shuffle(places)
    owner: list[str] = []
    for team, n in zip(teams, _split(len(places), weights), strict=True):
        owner += [team] * n
    _bulk(
        engine,
        Municipality,
        [
            {"team_id": team, "name": name, "county": county, "number": f"{1000 + i:04d}"}
            for i, ((name, county), team) in enumerate(zip(places, owner, strict=True))
        ],
    )
    with session_scope(engine) as session:
        munis = [
            (row.id, row.team_id, row.name, row.county)
            for row in session.execute(
                select(
                    col(Municipality.id),
                    col(Municipality.team_id),
                    col(Municipality.name),
                    col(Municipality.county),
                )
                .where(col(Municipality.team_id).in_(teams))
                .order_by(col(Municipality.id))
            )
        ]
    for _, team, _, _ in munis:
        counts[team].municipalities += 1

    # Schools: about nine per municipality, at random.
    school_rows: list[dict[str, Any]] = []
    taken: set[tuple[int, str]] = set()
    while len(school_rows) < sizes["schools"]:
        muni_id, team, muni_name, _ = rng.choice(munis)
        kind = rng.choice(SCHOOL_KINDS)
        place = rng.choice(PLACE_PARTS) if rng.random() < 0.85 else muni_name
        name = f"{place} {kind}"
        if (muni_id, name) in taken:
            continue
        taken.add((muni_id, name))
        school_rows.append({"team_id": team, "name": name, "municipality_id": muni_id})
    _bulk(engine, School, school_rows)
    muni_by_id = {m[0]: m for m in munis}
    with session_scope(engine) as session:
        schools = [
            (row.id, row.team_id, row.name, row.municipality_id)
            for row in session.execute(
                select(
                    col(School.id),
                    col(School.team_id),
                    col(School.name),
                    col(School.municipality_id),
                )
                .where(col(School.team_id).in_(teams))
                .order_by(col(School.id))
            )
        ]
    for _, team, _, _ in schools:
        counts[team].schools += 1

    # Contacts: about four in five at schools, the rest at the municipality.
    contact_rows: list[dict[str, Any]] = []
    school_roles = [r for r, w in CONTACT_ROLES_SCHOOL for _ in range(w)]
    muni_roles = [r for r, w in CONTACT_ROLES_MUNICIPALITY for _ in range(w)]
    for n in range(sizes["contacts"]):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{first} {last}"
        if n % 5:
            school_id, team, school_name, muni_id = rng.choice(schools)
            role = rng.choice(school_roles)
            muni_name = muni_by_id[muni_id][2]
            where: dict[str, Any] = {"school_id": school_id, "municipality_id": None}
            organisation = school_name
        else:
            muni_id, team, muni_name, _ = rng.choice(munis)
            school_name = None
            role = rng.choice(muni_roles)
            where = {"school_id": None, "municipality_id": muni_id}
            organisation = f"{muni_name} kommune"
        domain = f"{_ascii(muni_name)}.kommune.no"
        contact = Contact(
            team_id=team,
            name=name,
            role=role,
            organisation=organisation,
            email=f"{_ascii(first)}.{_ascii(last)}{n}@{domain}",
            phone=f"{rng.randrange(40_000_000, 99_999_999)}",
            purpose=f"{role} for {school_name or muni_name}" if rng.random() < 0.3 else None,
            historical=rng.random() < 0.02,
            external_key=f"bench-kontakt-{n}",
            **where,
        )
        row = contact.model_dump(exclude={"id"})
        row["search_key"] = contact_search_key(contact, school=school_name, municipality=muni_name)
        contact_rows.append(row)
        counts[team].contacts += 1
    _bulk(engine, Contact, contact_rows)

    # Deadlines and meetings: each workspace's share, about its own places.
    def pick_place(team: str) -> tuple[str, str, str]:
        mine = munis_by_team.get(team) or munis
        _, _, muni_name, county = rng.choice(mine)
        return muni_name, county, f"{rng.choice(PLACE_PARTS)} skole"

    munis_by_team: dict[str, list[tuple[Any, ...]]] = {}
    for m in munis:
        munis_by_team.setdefault(m[1], []).append(m)

    def team_sequence(total: int) -> list[str]:
        out: list[str] = []
        for team, n in zip(teams, _split(total, weights), strict=True):
            out += [team] * n
        rng.shuffle(out)
        return out

    def dating(row: dict[str, Any], start_field: str) -> None:
        roll = rng.random()
        first = today + timedelta(days=rng.randrange(-180, 540))
        row.update(precision=DatePrecision.DAY.value, rrule=None, confirmed_until=None)
        row[start_field] = first
        row["end_date"] = None
        if roll < 0.03:
            row.update(precision=DatePrecision.UNSET.value, date_note="to ganger i året")
            row[start_field] = None
        elif roll < 0.05:
            row["rrule"] = "FREQ=YEARLY"
            # relativedelta: 29 February goes back to the 28th, not an error.
            row[start_field] = first - relativedelta(years=rng.randrange(1, 5))
            row["confirmed_until"] = row[start_field]
        elif roll < 0.07:
            until = today + timedelta(days=rng.randrange(-60, 400))
            row["rrule"] = f"FREQ=MONTHLY;UNTIL={until:%Y%m%d}"
            row[start_field] = today - timedelta(days=rng.randrange(30, 700))
        elif roll < 0.11:
            row["precision"] = DatePrecision.WEEK.value
            monday = first - timedelta(days=first.weekday())
            row[start_field] = monday
            row["end_date"] = monday + timedelta(days=7 * rng.randrange(1, 5) - 1)
        elif roll < 0.14:
            row["precision"] = DatePrecision.MONTH.value
            row[start_field] = first.replace(day=1)
            row["end_date"] = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - (
                timedelta(days=1)
            )

    deadline_rows: list[dict[str, Any]] = []
    for n, team in enumerate(team_sequence(sizes["deadlines"])):
        muni_name, county, school_name = pick_place(team)
        title = rng.choice(DEADLINE_TEMPLATES).format(
            p=rng.choice(PRODUCTIONS), m=muni_name, s=school_name
        )
        row = {
            "team_id": team,
            "title": title,
            "description": (
                f"Gjelder skolene i {muni_name}. Send svaret til kommunekontakten, "
                "og si fra om noe er uklart."
            )
            if rng.random() < 0.6
            else None,
            "link": "https://www.denkulturelleskolesekken.no" if rng.random() < 0.3 else None,
            "audience": rng.choice(("kommunekontakt", "kulturkontakter", "rektorer", None)),
            "date_note": None,
            "reminder_offsets_days": None,
            "source": "bench",
            "external_key": f"bench-frist-{n}",
            "due_time": clock_time(rng.choice((9, 12, 15, 16)), 0) if rng.random() < 0.3 else None,
        }
        dating(row, "due_date")
        if row["precision"] != DatePrecision.DAY.value:
            row["due_time"] = None
        row["search_key"] = search_key(row["title"], row["description"], row["audience"])
        deadline_rows.append(row)
        counts[team].deadlines += 1
    _bulk(engine, Deadline, deadline_rows)

    meeting_rows: list[dict[str, Any]] = []
    forms = [f.value for f in MeetingForm]
    for n, team in enumerate(team_sequence(sizes["meetings"])):
        muni_name, county, school_name = pick_place(team)
        kind, template = rng.choice(MEETING_KINDS)
        form = rng.choice(forms)
        hour = rng.choice((8, 9, 10, 12, 13, 14, 18))
        row = {
            "team_id": team,
            "title": template.format(m=muni_name, s=school_name, c=county),
            "description": (
                "Agenda kommer. Ta med spørsmål fra skolene." if rng.random() < 0.5 else None
            ),
            "link": None,
            "audience": rng.choice(("kulturkontakter", "kommunegruppa", "koordinatorer", None)),
            "date_note": None,
            "reminder_offsets_days": None,
            "source": "bench",
            "external_key": f"bench-mote-{n}",
            "kind": kind,
            "form": form,
            "place": "digitalt (Teams)"
            if form == MeetingForm.DIGITAL.value
            else f"{muni_name} rådhus",
            "start_time": clock_time(hour, 0) if rng.random() < 0.7 else None,
            "end_time": None,
        }
        dating(row, "start_date")
        if row["precision"] != DatePrecision.DAY.value:
            row["start_time"] = None
        if row["start_time"] is not None:
            row["end_time"] = clock_time(hour + rng.choice((1, 2, 3)), 30)
        row["search_key"] = search_key(
            row["title"], row["description"], row["audience"], row["kind"], row["place"]
        )
        meeting_rows.append(row)
        counts[team].meetings += 1
    _bulk(engine, Meeting, meeting_rows)
    return counts


# --- Apps and servers ----------------------------------------------------------------------------

BARE_TEXT = "Ok"


def bare_bolt_app(
    *,
    signing_secret: str,
    client: WebClient,
    process_before_response: bool = False,
    text: str = BARE_TEXT,
) -> App:
    """The floor: a Bolt App whose `/dks` listener acks fixed text and does nothing else."""
    app = App(
        signing_secret=signing_secret,
        client=client,
        process_before_response=process_before_response,
    )

    def dks(ack: Ack) -> None:
        ack(text)

    app.command("/dks")(dks)
    return app


def mount(apps: Mapping[str, WSGIApp]) -> WSGIApp:
    """One WSGI app serving each of `apps` under its own prefix ("/bot/slack/events", …)."""

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        prefix, _, rest = path.lstrip("/").partition("/")
        target = apps.get(prefix)
        if target is None:
            start_response("404 Not Found", [("content-type", "text/plain")])
            return [b"not found"]
        environ = {
            **environ,
            "SCRIPT_NAME": environ.get("SCRIPT_NAME", "") + "/" + prefix,
            "PATH_INFO": "/" + rest,
        }
        return target(environ, start_response)

    return dispatch


def bench_apps(bare: Callable[[str, WebClient, bool], App]) -> WSGIApp:
    """The apps every bench serves side by side, each under its own path prefix.

    `bot` (and `bot-pg` when BENCH_POSTGRES_URL is set) is the real bot, which always runs with
    Bolt's process_before_response; `bare` and `bare-pbr` are what
    `bare(signing_secret, client, process_before_response)` builds in Bolt's two modes.
    Settings come from the environment, in the gunicorn worker.
    """
    from dataclasses import replace

    from bot.app import make_client
    from bot.server import build_wsgi_app, create_wsgi_app
    from bot.settings import Settings
    from storage.db import make_engine

    settings = Settings.from_env(dotenv_path=None)
    apps: dict[str, WSGIApp] = {}

    def add_bot(prefix: str, used: Settings) -> None:
        apps[prefix] = build_wsgi_app(used)

    add_bot("bot", settings)
    if pg_url := os.environ.get("BENCH_POSTGRES_URL"):
        add_bot("bot-pg", replace(settings, database_url=pg_url))
    health_engine = make_engine(settings.database_url)
    for prefix, pbr in (("bare", False), ("bare-pbr", True)):
        app = bare(settings.slack_signing_secret or "", make_client(settings), pbr)
        apps[prefix] = create_wsgi_app(app, health_engine)
    return mount(apps)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_http(url: str, *, timeout: float = 60.0, interval: float = 0.01) -> float:
    """Poll `url` until it answers 200; returns the seconds it took."""
    started = time.perf_counter()
    deadline = started + timeout
    with httpx.Client(timeout=2) as http:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if http.get(url).status_code == 200:
                    return time.perf_counter() - started
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f} s")
            time.sleep(interval)


def stop_process(process: subprocess.Popen[Any], *, timeout: float = 15.0) -> int:
    """SIGTERM (gunicorn's graceful stop), then SIGKILL if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return int(process.returncode)


@contextlib.contextmanager
def gunicorn_subprocess(
    factory: str,
    *,
    env: Mapping[str, str],
    workers: int = 1,
    threads: int = 8,
    ready_path: str = "/",
    timeout: float = 60.0,
) -> Iterator[str]:
    """Serve `module:function` (a WSGI app factory) on gunicorn in a subprocess; yields its URL.

    The server is bot.server.GunicornServer's configuration (gthread), so what is measured is
    the server kind `dks-bot serve` runs.
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "bench.common",
        "serve",
        factory,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    ]
    process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + ready_path, timeout=timeout)
        yield url
    finally:
        stop_process(process)


def _serve(factory: str, port: int, workers: int, threads: int) -> None:
    from bot.server import GunicornServer
    from bot.settings import Settings

    module_name, _, function = factory.partition(":")

    class FactoryServer(GunicornServer):
        def load(self) -> WSGIApp:
            # Runs in each worker after the fork, as build_wsgi_app does for `dks-bot serve`.
            make: Callable[[], WSGIApp] = getattr(importlib.import_module(module_name), function)
            return make()

    options = {
        "bind": f"127.0.0.1:{port}",
        "workers": workers,
        "threads": threads,
        "loglevel": "warning",
    }
    FactoryServer(Settings.from_env(dotenv_path=None), options).run()


# --- Timing --------------------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least q % of samples at or below."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Stats:
    n: int
    p50: float
    p99: float
    mean: float
    max: float

    def ms(self, which: str) -> str:
        return f"{getattr(self, which) * 1000:7.2f}"


def summarize(samples: Sequence[float]) -> Stats:
    return Stats(
        n=len(samples),
        p50=percentile(samples, 50),
        p99=percentile(samples, 99),
        mean=statistics.fmean(samples),
        max=max(samples),
    )


@dataclass
class SlashTimer:
    """Sends signed `/dks …` slash commands and times them until the ack body has arrived."""

    signing_secret: str
    http: httpx.Client
    team_id: str
    user_id: str = "U0BENCH"
    channel_id: str = "C0BENCH"
    response_url: str = "http://127.0.0.1:9/response/1"
    failures: list[str] = field(default_factory=list)

    def request(self, text: str) -> tuple[str, dict[str, str]]:
        body = slash_command_body(
            text=text,
            team_id=self.team_id,
            user_id=self.user_id,
            channel_id=self.channel_id,
            response_url=self.response_url,
        )
        return body, signed_headers(self.signing_secret, body)

    def time(self, url: str, text: str) -> tuple[float, httpx.Response]:
        """Seconds from sending the request to having the whole response body."""
        body, headers = self.request(text)
        content = body.encode()
        started = time.perf_counter()
        response = self.http.post(url, content=content, headers=headers)
        response.read()
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            self.failures.append(f"{url} /dks {text}: HTTP {response.status_code}")
        return elapsed, response


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a WSGI app factory on gunicorn.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("factory", help="module:function returning a WSGI app")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    _serve(args.factory, args.port, args.workers, args.threads)


if __name__ == "__main__":
    main()
