"""Payloads for the feedback scenario tests, shaped as Slack documents them, and set-up."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, inspect, text
from sqlmodel import select

from bot.shell.fakeslack import FakeSlack
from bot.shell.signing import interaction_body, new_trigger_id
from handlers.feedback.forms import (
    ANONYMOUS_ACTION,
    ANONYMOUS_BLOCK,
    ANONYMOUS_VALUE,
    COMMENT_ACTIONS,
    COMMENT_BLOCKS,
    FREE_COMMENT_ACTION,
    FREE_COMMENT_BLOCK,
    PERFORMANCE_ACTION,
    PERFORMANCE_BLOCK,
    PUPIL_HOSTS_ACTION,
    PUPIL_HOSTS_BLOCK,
    PUPILS_ACTION,
    PUPILS_BLOCK,
    RATING_ACTIONS,
    RATING_BLOCKS,
)
from storage.contacts import save_contact
from storage.db import session_scope
from storage.feedback import RATING_WORDS
from storage.importers.tourplan import import_tourplan, load_tourplan
from storage.models import Contact, Municipality, Performance, School, Workspace, utcnow

OSLO = ZoneInfo("Europe/Oslo")
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "turneplan-eksempel.csv"
KONTAKT = "U0KONTAKT"
APP_ID = "A0DKSBOT"
TOKEN = "gIkuvaNzQIHg97ATvDxqgjtO"


def load_world(engine: Engine, team_id: str, now: datetime) -> dict[str, int]:
    """The sample tour plan in a seeded workspace; Ås ungdomsskole's kulturkontakt is on Slack.

    Returns performance ids by the tour plan's forestilling_id.
    """
    with session_scope(engine, write=True) as session:
        session.merge(Workspace(team_id=team_id, seeded_at=utcnow()))
    with session_scope(engine, write=True) as session:
        # The school and its kulturkontakt exist before the plan: the import finds the school.
        place = Municipality(team_id=team_id, name="Ås")
        session.add(place)
        session.flush()
        school = School(team_id=team_id, name="Ås ungdomsskole", municipality_id=place.id)
        session.add(school)
        session.flush()
        save_contact(
            session=session,
            contact=Contact(
                team_id=team_id,
                name="Kari Kulturkontakt",
                role="Kulturkontakt",
                slack_user_id=KONTAKT,
                school_id=school.id,
            ),
        )
    with session_scope(engine, write=True) as session:
        import_tourplan(
            session=session, team_id=team_id, data=load_tourplan(SAMPLE), tz=OSLO, now=now
        )
        return {p.external_key: p.id for p in session.exec(select(Performance)) if p.id}


def _user(user_id: str, team_id: str) -> dict[str, Any]:
    return {"id": user_id, "username": "bruker", "name": "bruker", "team_id": team_id}


def _team(team_id: str) -> dict[str, Any]:
    return {"id": team_id, "domain": "dks"}


def slack_view(view: dict[str, Any], team_id: str, state: dict[str, Any]) -> dict[str, Any]:
    """A view as Slack sends it back in interaction payloads."""
    return {
        **view,
        "team_id": team_id,
        "state": {"values": state},
        "hash": view.get("hash", f"{int(time.time())}.abcdEFGH"),
        "clear_on_close": False,
        "notify_on_close": False,
        "previous_view_id": None,
        "root_view_id": view["id"],
        "app_id": APP_ID,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": "B0DKSBOT",
    }


def block_suggestion_body(*, view: dict[str, Any], value: str, team_id: str, user_id: str) -> str:
    """What Slack posts when the type-ahead opens or the user types in it."""
    return interaction_body(
        {
            "type": "block_suggestion",
            "user": _user(user_id, team_id),
            "container": {"type": "view", "view_id": view["id"]},
            "api_app_id": APP_ID,
            "token": TOKEN,
            "action_id": PERFORMANCE_ACTION,
            "block_id": PERFORMANCE_BLOCK,
            "value": value,
            "team": _team(team_id),
            "enterprise": None,
            "is_enterprise_install": False,
            "view": slack_view(view, team_id, {}),
        }
    )


def view_submission_body(
    *, view: dict[str, Any], state: dict[str, Any], team_id: str, user_id: str
) -> str:
    return interaction_body(
        {
            "type": "view_submission",
            "team": _team(team_id),
            "user": _user(user_id, team_id),
            "api_app_id": APP_ID,
            "token": TOKEN,
            "trigger_id": new_trigger_id(),
            "view": slack_view(view, team_id, state),
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
    )


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label, "emoji": True}, "value": value}


KEEP: Any = object()  # the user leaves the field as the form showed it


def form_state(
    view: dict[str, Any],
    *,
    performance: Any = KEEP,
    ratings: dict[str, int | None] | None = None,
    comments: dict[str, str] | None = None,
    pupil_hosts: Any = KEEP,
    pupils: Any = KEEP,
    free: Any = KEEP,
    anonymous: Any = KEEP,
) -> dict[str, Any]:
    """`view.state.values` as Slack reports a submitted form: every input block, with what
    the user chose, or the element's initial value where the user changed nothing.

    `performance` is (id, label) or None; ratings not given and not prefilled get
    5, 4, 4, 5, 3."""
    initial: dict[str, dict[str, Any]] = {
        b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"
    }

    def selected(block_id: str, given: Any, make: Any) -> Any:
        if given is KEEP:
            return initial[block_id].get("initial_option")
        return make(given) if given is not None else None

    def typed(block_id: str, given: Any) -> Any:
        return initial[block_id].get("initial_value") if given is KEEP else given

    state: dict[str, Any] = {
        PERFORMANCE_BLOCK: {
            PERFORMANCE_ACTION: {
                "type": "external_select",
                "selected_option": selected(
                    PERFORMANCE_BLOCK, performance, lambda p: _option(str(p[0]), p[1])
                ),
            }
        }
    }
    defaults = {"overall": 5, "artistic": 4, "relevance": 4, "pupils": 5, "practical": 3}
    for question, fallback in defaults.items():
        prefilled = initial[RATING_BLOCKS[question]].get("initial_option")
        given: Any = (ratings or {}).get(question, KEEP)
        if given is KEEP and prefilled is None:
            given = fallback
        state[RATING_BLOCKS[question]] = {
            RATING_ACTIONS[question]: {
                "type": "radio_buttons",
                "selected_option": selected(
                    RATING_BLOCKS[question], given, lambda v: _option(str(v), RATING_WORDS[v])
                ),
            }
        }
        state[COMMENT_BLOCKS[question]] = {
            COMMENT_ACTIONS[question]: {
                "type": "plain_text_input",
                "value": typed(COMMENT_BLOCKS[question], (comments or {}).get(question, KEEP)),
            }
        }
    state[PUPIL_HOSTS_BLOCK] = {
        PUPIL_HOSTS_ACTION: {
            "type": "radio_buttons",
            "selected_option": selected(PUPIL_HOSTS_BLOCK, pupil_hosts, lambda v: _option(v, v)),
        }
    }
    state[PUPILS_BLOCK] = {
        PUPILS_ACTION: {"type": "number_input", "value": typed(PUPILS_BLOCK, pupils)}
    }
    state[FREE_COMMENT_BLOCK] = {
        FREE_COMMENT_ACTION: {"type": "plain_text_input", "value": typed(FREE_COMMENT_BLOCK, free)}
    }
    if anonymous is KEEP:
        chosen = initial[ANONYMOUS_BLOCK].get("initial_options") or []
    else:
        chosen = [_option(ANONYMOUS_VALUE, "Send anonymt")] if anonymous else []
    state[ANONYMOUS_BLOCK] = {ANONYMOUS_ACTION: {"type": "checkboxes", "selected_options": chosen}}
    return state


def opened_view(fake: FakeSlack, method: str = "views.open", count: int = 1) -> dict[str, Any]:
    """The view the bot opened with its `count`-th call of `method`, as the fake stored it
    (with id and hash). The fake records a call before it stores the view: wait for both."""
    assert fake.wait_for(lambda: len(fake.calls_to(method)) >= count), f"no {method}"
    sent = fake.calls_to(method)[count - 1].args["view"]
    sent = json.loads(sent) if isinstance(sent, str) else sent

    def stored() -> list[dict[str, Any]]:
        return [
            v
            for v in list(fake.views.values())
            if v.get("callback_id") == sent.get("callback_id") and v.get("blocks") == sent["blocks"]
        ]

    assert fake.wait_for(lambda: bool(stored())), "the fake refused the view"
    return stored()[-1]


def all_stored_text(engine: Engine) -> str:
    """Every value in every table, as text: for proving something is stored nowhere."""
    parts: list[str] = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                parts.extend(str(v) for v in row)
    return "\n".join(parts)
