"""Every surface in every language (issue #14's «Done means»), rendered by tests/i18n_world.py:
the bot driven over the real signed HTTP path and the fake Slack, with representative data.

- nb, nn, en: every view, message, option list and field error Slack would accept
  (slack_sdk.models: Block Kit's limits hold in every language), no placeholder left unfilled,
  no request that failed;
- the pseudo language (`qps`: every catalog message comes back as ⟦…⟧, dates too): every text a
  user sees is marked, once the data the world put in and Slack's markup are taken away. What
  is left was written outside the catalogs; the failure lists all of it at once, by where it
  was seen, with a guess at the source line;
- the world reaches every action, modal, type-ahead and subcommand the features register, so a
  new one cannot slip past these checks.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, Option, OptionGroup
from slack_sdk.models.views import View

import handlers
from handlers.core.i18n import DOMAIN, LOCALE_DIR, PSEUDO, PSEUDO_CLOSE, PSEUDO_OPEN
from tests.fuzz_world import listened_to
from tests.i18n_world import Payload, Rendered, data_strings, render_world, texts

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = ("nb", "nn", "en")
MESSAGE_TEXT_LIMIT = 40_000  # Slack truncates a message's `text` beyond this
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
OPTIONS_LIMIT = 100
# Farewell events end the workspace's installation; they show nobody anything.
SILENT_EVENTS = {"app_uninstalled", "tokens_revoked"}


@pytest.fixture(scope="module", params=[*LANGUAGES, PSEUDO])
def rendered(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Rendered:
    return render_world(request.param, tmp_path_factory.mktemp(f"i18n-{request.param}"))


def _language(rendered: Rendered, *wanted: str) -> None:
    if rendered.language not in wanted:
        pytest.skip(f"not a check for {rendered.language}")


# --- the world ran ------------------------------------------------------------------------------


def test_every_request_was_answered(rendered: Rendered) -> None:
    """No traceback, unacked request or error status while rendering (a translation that
    drops a `%(name)s` the code fills in raises KeyError here; a label too long for Slack
    makes slack_sdk refuse the view before it is sent)."""
    if rendered.problems:
        seen: dict[str, int] = defaultdict(int)
        for problem in rendered.problems:
            seen[_general(problem[:600])] += 1
        pytest.fail(
            f"{rendered.language}: {len(rendered.problems)} problems while rendering:\n"
            + "\n".join(f"  {p}" + (f"  (×{n})" if n > 1 else "") for p, n in sorted(seen.items())),
            pytrace=False,
        )


def test_the_world_reaches_every_listener(rendered: Rendered) -> None:
    """Every action_id, modal callback_id, type-ahead and event the features register, and
    every subcommand: teach tests/i18n_world.py a new one."""
    _language(rendered, "nb")
    listened = listened_to()
    missing: list[str] = []

    def reached(kind: str, constraint: Any) -> bool:
        done = rendered.reached[kind]
        if isinstance(constraint, re.Pattern):
            return any(constraint.match(x) for x in done)
        return constraint in done

    for kind, declared in (
        ("actions", listened.actions),
        ("views", listened.views),
        ("options", listened.options),
        ("events", [e for e in listened.events if e not in SILENT_EVENTS]),
    ):
        missing.extend(f"{kind}: {c}" for c in declared if not reached(kind, c))
    for feature in handlers.FEATURES:
        for sub in feature.subcommands:
            if sub.name not in rendered.reached["commands"]:
                missing.append(f"subcommand: {sub.name}")
    if missing:
        pytest.fail("the i18n world never reached:\n  " + "\n  ".join(missing), pytrace=False)


# Every kind of surface the bot shows, as the world must have rendered it.
SURFACES: dict[str, Any] = {
    "a `/dks` reply": lambda p: p.via == "ack" and p.source.startswith("/dks"),
    "a reply after a click (response_url)": lambda p: p.via == "response_url",
    "the Home tab": lambda p: p.via == "views.publish",
    "a modal opened": lambda p: p.via == "views.open",
    "a modal pushed": lambda p: p.via == "views.push",
    "a modal updated": lambda p: p.via == "views.update",
    "a modal answered with another": lambda p: p.via.startswith("ack (") and p.kind == "view",
    "field errors": lambda p: p.kind == "errors",
    "a type-ahead's options": lambda p: p.kind == "options",
    "a reminder in the channel": lambda p: (
        p.source.startswith("scheduler") and p.via.startswith("chat.postMessage C")
    ),
    "a feedback prompt in a DM": lambda p: (
        p.source.startswith("scheduler") and p.via.startswith("chat.postMessage D0KONTAKT")
    ),
    "the alert DM to a coordinator": lambda p: (
        p.source.startswith("scheduler") and p.via.startswith("chat.postMessage D0ADMIN")
    ),
    "a posted message edited": lambda p: p.via.startswith("chat.update"),
    "the channel offer": lambda p: p.source.startswith("event member_joined_channel"),
    "a file's comment": lambda p: p.kind == "file" and bool(p.data.get("initial_comment")),
    "the CSV export's header": lambda p: bool(p.kind == "file" and p.data.get("csv header")),
    "the Excel export's header": lambda p: (
        p.kind == "file" and any(k.startswith("xlsx") for k in p.data)
    ),
    "the calendar file": lambda p: p.via == "upload" and bool(p.data.get("ics")),
    "the calendar feed": lambda p: p.via == "GET" and bool(p.data.get("ics")),
}


def test_the_world_renders_every_kind_of_surface(rendered: Rendered) -> None:
    _language(rendered, "nb")
    missing = [
        name for name, seen in SURFACES.items() if not any(seen(p) for p in rendered.payloads)
    ]
    assert not missing, "the i18n world rendered no " + ", no ".join(missing)


# --- Block Kit in nb, nn, en ---------------------------------------------------------------------


def _parsed(value: Any) -> Any:
    if isinstance(value, str):
        import json

        return json.loads(value)
    return value


def block_kit_problems(payload: Payload) -> Iterator[str]:
    """What Slack (as slack_sdk.models models it) would refuse in a payload."""
    data = payload.data
    try:
        if payload.kind == "view":
            View(**data).validate_json()
            View(**data).to_dict()
            if len(data.get("blocks") or []) > VIEW_BLOCKS:
                yield f"{len(data['blocks'])} blocks"
        elif payload.kind == "message":
            blocks = _parsed(data.get("blocks")) or []
            if len(blocks) > MESSAGE_BLOCKS:
                yield f"{len(blocks)} blocks"
            for i, raw in enumerate(blocks):
                parsed = Block.parse(raw)
                if parsed is None:
                    yield f"blocks[{i}]: not a block: {str(raw)[:120]}"
                    continue
                parsed.validate_json()
                parsed.to_dict()  # every element in it too
            text = data.get("text")
            if text is not None and not isinstance(text, str):
                yield f"text is {type(text).__name__}"
            elif text and len(text) > MESSAGE_TEXT_LIMIT:
                yield f"text of {len(text)} characters"
            if not text and not blocks:
                yield "neither text nor blocks"
        elif payload.kind == "options":
            options = data.get("options") or []
            groups = data.get("option_groups") or []
            if len(options) > OPTIONS_LIMIT or len(groups) > OPTIONS_LIMIT:
                yield f"{len(options) or len(groups)} options"
            for raw in options:
                Option(**raw).to_dict()
            for raw in groups:
                OptionGroup(**raw).to_dict()
        elif payload.kind == "errors":
            if not isinstance(data, dict) or not data:
                yield f"errors is {data!r}"
                return
            for block_id, text in data.items():
                if block_id not in payload.inputs:
                    yield f"an error for «{block_id}», which is no input block of the form"
                if not isinstance(text, str) or not text.strip():
                    yield f"errors.{block_id} is empty"
    except (SlackObjectFormationError, TypeError, KeyError, ValueError, AttributeError) as err:
        yield f"{type(err).__name__}: {str(err)[:300]}"


def test_every_surface_validates(rendered: Rendered) -> None:
    """Views, messages, option lists and field errors in this language fit Slack's limits."""
    _language(rendered, *LANGUAGES)
    found: dict[str, list[str]] = defaultdict(list)
    for payload in rendered.payloads:
        for problem in block_kit_problems(payload):
            found[payload.where].append(problem)
    assert rendered.payloads, "nothing was rendered"
    if found:
        pytest.fail(
            f"{rendered.language}: Block Kit that Slack refuses:\n"
            + "\n".join(
                f"  {where}:\n" + "\n".join(f"    {p}" for p in problems)
                for where, problems in sorted(found.items())
            ),
            pytrace=False,
        )


_UNFILLED = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%[sd]\b")


def test_no_placeholder_or_pseudo_mark_reaches_a_reader(rendered: Rendered) -> None:
    """A `%(name)s` left in a text was never filled in (formatted before the lookup, or a
    translation that spells the name differently); ⟦ is the pseudo language's, never a
    reader's."""
    _language(rendered, *LANGUAGES)
    found = sorted(
        {
            f"{payload.where} › {path}: «{text[:160]}»"
            for payload in rendered.payloads
            for path, text in texts(payload)
            if _UNFILLED.search(text) or PSEUDO_OPEN in text or PSEUDO_CLOSE in text
        }
    )
    if found:
        pytest.fail(f"{rendered.language}:\n  " + "\n  ".join(found), pytrace=False)


# --- every message shown has its translations ------------------------------------------------


@cache
def _catalog(language: str) -> Any:
    with open(LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po", "rb") as f:
        return read_po(f, locale=language)


def test_every_message_shown_is_translated(rendered: Rendered) -> None:
    """Every message the bot looked up while rendering (the pseudo language records them) is
    in the nynorsk and English catalogs, translated: a `_()` given a text no extraction finds
    (`_(variable)` without `N_` where the text is written, an f-string) is shown in bokmål to
    every reader."""
    _language(rendered, PSEUDO)
    assert rendered.looked_up, "no message was looked up: is the pseudo language in force?"
    missing: dict[str, list[str]] = defaultdict(list)
    for context, msgid, _plural in sorted(rendered.looked_up, key=lambda k: (k[1], k[0] or "")):
        words = _ADDRESSES.sub(" ", re.sub(r"%\(\w+\)\w", " ", msgid))
        if not _LETTERS.search(words):
            continue  # «+47 91 23 45 67», «https://…»: the same in every language
        for language in ("nn", "en"):
            message = _catalog(language).get(msgid, context=context)
            strings = (
                []
                if message is None
                else list(message.string)
                if isinstance(message.string, (list, tuple))
                else [message.string]
            )
            if message is None or message.fuzzy or not all(strings):
                what = f"«{msgid[:100]}»" + (f" (context {context!r})" if context else "")
                missing[what].append(language)
    if missing:
        pytest.fail(
            f"{len(missing)} messages shown to readers have no translation "
            "(extract and translate: docs/translating.md):\n"
            + "\n".join(f"  {what}: not in {', '.join(langs)}" for what, langs in missing.items()),
            pytrace=False,
        )


# --- the pseudo language: every text marked ------------------------------------------------------

_SPAN = re.compile(f"{PSEUDO_OPEN}[^{PSEUDO_OPEN}{PSEUDO_CLOSE}]*{PSEUDO_CLOSE}")
_GAP = "\x00"  # where something was taken out: fragments on either side are apart
_MARKUP = [
    re.compile(r"<[@#!][^<>]*>"),  # <@U…>, <#C…|name>, <!date^…|…>, <!here>
    re.compile(r"<(?:https?|mailto|tel|slack):[^<>|]*>"),  # a bare link
]
_LABELLED_LINK = re.compile(r"<(?:https?|mailto|tel|slack):[^<>|]*\|([^<>]*)>")
_ADDRESSES = re.compile(r"https?://\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|webcal://\S+")
# Slack's ids written out (T0TEST, U0ADMIN): what a command is typed with, never copy.
_IDS = re.compile(r"(?<![\w-])[TUWCDGBF](?=[A-Z0-9]*\d)[A-Z0-9]{5,}(?![\w-])")
# A command line for the operator's terminal (`dks-bot arbeidsområde eksporter --team …`):
# the CLI's words are its names, as `/dks` and its subcommands are.
_CLI_COMMAND = re.compile(r"`dks-bot\b[^`]*`")
_EMOJI = re.compile(r":[a-z0-9_+'-]+:")
# What escape() puts for Slack's formatting characters, and the word joiner after an @.
_LOOKALIKES = str.maketrans({c: " " for c in "\u2217\u02cd\u223c\u02cb\u2060\u2223"})
# Names that are the same in every language, written outside the catalogs on purpose: the
# programme (Den kulturelle skolesekken) is «DKS» in nynorsk and English too.
NAMES = re.compile(r"(?<![\w-])DKS(?![\w-])")
_LETTERS = re.compile(r"[^\W\d_]")


def strip_marked(text: str) -> str:
    """The text without its ⟦…⟧ spans (nested: a marked date inside a marked sentence), and
    without a span cut short by truncation («⟦En lang setning…»)."""
    previous = None
    while previous != text:
        previous, text = text, _SPAN.sub(_GAP, text)
    if PSEUDO_OPEN in text:
        text = text[: text.index(PSEUDO_OPEN)] + _GAP
    if PSEUDO_CLOSE in text:
        text = _GAP + text[text.rindex(PSEUDO_CLOSE) + 1 :]
    return text


@cache
def _command_pattern() -> re.Pattern[str]:
    """`/dks` and a subcommand's name in any language: the routing table's words, not copy."""
    names = sorted(
        {n for f in handlers.FEATURES for sub in f.subcommands for n in sub.names()},
        key=len,
        reverse=True,
    )
    words = "|".join(re.escape(n) for n in names)
    return re.compile(rf"/dks(?:\s+(?:{words})(?![\w]))?", re.IGNORECASE)


class DataFilter:
    """Takes the data the world put in out of a text: whole strings (as shown or escaped),
    and strings cut short with «…»."""

    def __init__(self, data: frozenset[str]) -> None:
        strings = data_strings(data)
        self.folded = [s.casefold() for s in strings]
        pattern = "|".join(re.escape(s) for s in strings)
        self.whole = re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE)

    def __call__(self, text: str) -> str:
        text = self.whole.sub(_GAP, text)
        return self._truncated(text)

    def _truncated(self, text: str) -> str:
        """«Årsrapportering av DKS til f…»: the start of a data string, cut by truncate()."""
        for match in reversed(list(re.finditer("…", text))):
            before = text[: match.start()].casefold()
            best = None
            for folded in self.folded:
                head = folded[:12]
                at = before.rfind(head)
                while at >= 0:
                    cut = before[at:]
                    if (
                        len(cut) >= 3
                        and folded.startswith(cut)
                        and (at == 0 or not before[at - 1].isalnum())
                    ):
                        best = at if best is None else min(best, at)
                        break
                    at = before.rfind(head, 0, at)
            if best is not None:
                text = text[:best] + _GAP + text[match.end() :]
        return text


def leftovers(text: str, data: DataFilter) -> list[str]:
    """The words of `text` no catalog marked, that are neither data nor Slack's markup."""
    text = strip_marked(text)
    text = _LABELLED_LINK.sub(lambda m: _GAP + m.group(1) + _GAP, text)
    for pattern in _MARKUP:
        text = pattern.sub(_GAP, text)
    text = html.unescape(text)
    text = _CLI_COMMAND.sub(_GAP, text)
    text = _ADDRESSES.sub(_GAP, text)
    text = _IDS.sub(_GAP, text)
    text = _command_pattern().sub(_GAP, text)
    text = data(text.translate(_LOOKALIKES))
    text = _EMOJI.sub(_GAP, text)
    text = NAMES.sub(_GAP, text)
    fragments = []
    for piece in re.split(f"[{_GAP}\n]", text):
        words = re.findall(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", piece)
        if words:
            fragments.append(" ".join(words))
    return fragments


_SOURCE_WORD = re.compile(r"[^\W\d_]+")
# Where copy is written, most likely first: the features, then storage, then the rest of bot/.
_SOURCE_ORDER = ("handlers/", "storage/", "bot/scheduler/", "bot/")


@dataclass(frozen=True)
class Place:
    """A text a leftover may come from: a source line with a string literal (bokmål), or a
    nynorsk or English translation in a catalog (shown to a reader of another language: a
    cache that does not key on the language)."""

    text: str
    where: str  # «handlers/x.py:12», or the msgid's files for a translation
    file: str  # what the report groups by
    rank: int
    language: str = "nb"
    msgid: str = ""


@cache
def _places() -> tuple[list[Place], dict[str, set[int]]]:
    places: list[Place] = []
    for directory in ("handlers", "storage", "bot"):
        for path in sorted((ROOT / directory).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            rank = next(
                (i for i, p in enumerate(_SOURCE_ORDER) if relative.startswith(p)),
                len(_SOURCE_ORDER),
            )
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if ('"' in line or "'" in line) and not line.lstrip().startswith("#"):
                    places.append(Place(line, f"{relative}:{number}", relative, rank))
    for language in ("nn", "en"):
        po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        with open(po, "rb") as f:
            catalog = read_po(f, locale=language)
        for message in catalog:
            if not message.id:
                continue
            files = sorted({file for file, _line in message.locations}) or ["?"]
            msgid = message.id if isinstance(message.id, str) else message.id[0]
            strings = (
                message.string if isinstance(message.string, (list, tuple)) else [message.string]
            )
            for text in strings:
                if text:
                    places.append(Place(text, ", ".join(files), files[0], 9, language, msgid))
    by_word: dict[str, set[int]] = defaultdict(set)
    for index, place in enumerate(places):
        for word in _SOURCE_WORD.findall(place.text):
            by_word[word.casefold()].add(index)
    return places, by_word


def _in_literal(line: str, at: int) -> bool:
    """Whether position `at` of a source line is inside a string literal (roughly)."""
    before = line[:at]
    return before.count('"') % 2 == 1 or before.count("'") % 2 == 1


@cache
def locate(fragment: str) -> tuple[Place, ...]:
    """Where a leftover is probably written: the texts holding the most runs of its words,
    longest runs first; a label written alone («Endre») is the literal that is exactly it."""
    places, by_word = _places()
    words = _SOURCE_WORD.findall(fragment)
    if not words:
        return ()

    def holding(run: list[str]) -> set[int]:
        return set.intersection(*(by_word.get(w.casefold(), set()) for w in run))

    def best(indexes: Iterator[int] | list[int]) -> tuple[Place, ...]:
        return tuple(sorted((places[i] for i in indexes), key=lambda p: (p.rank, p.where)))

    alone = re.compile(r"(?:^|[\"'])" + re.escape(fragment) + r"(?:[\"']|$)")
    exact = [i for i in holding(words) if alone.search(places[i].text)]
    if exact:
        return best(exact)
    for size in range(min(len(words), 6), 0, -1):
        counts: dict[int, int] = defaultdict(int)
        for start in range(len(words) - size + 1):
            run = words[start : start + size]
            if size == 1 and len(run[0]) < 4:
                continue
            pattern = re.compile(
                r"(?<!\w)" + r"\W+".join(re.escape(w) for w in run) + r"(?!\w)", re.IGNORECASE
            )
            for index in holding(run):
                place = places[index]
                found = pattern.search(place.text)
                if found and (place.language != "nb" or _in_literal(place.text, found.start())):
                    counts[index] += 1
        if counts:
            most = max(counts.values())
            return best(i for i, n in counts.items() if n == most)
    return ()


def describe(places: tuple[Place, ...]) -> tuple[str, str]:
    """(the file a leftover is grouped under, where it probably comes from)."""
    if not places:
        return "?", "?"
    first = places[0]
    if first.language != "nb":
        return (
            f"{first.file} (a cached {first.language} text)",
            f"the {first.language} translation of «{first.msgid[:70]}» ({first.where}): "
            "a cache that does not key on the language?",
        )
    shown = [p.where for p in places if p.language == "nb"]
    more = f" (+{len(shown) - 3})" if len(shown) > 3 else ""
    return first.file, ", ".join(shown[:3]) + more


def _general(source: str) -> str:
    """A payload's source without its ids and numbers, so the same leftover from twenty
    reminders is listed once."""
    return re.sub(r"\d+", "#", source)


def test_pseudo_language_marks_every_text(rendered: Rendered) -> None:
    """Every text a user sees is marked ⟦…⟧ once data and Slack's markup are taken away;
    the rest was written outside the catalogs. Reports all of it, grouped by the payload it
    was seen in, and (a guess) by the source file that writes it."""
    _language(rendered, PSEUDO)
    data = DataFilter(rendered.data)
    by_payload: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    by_file: dict[str, set[str]] = defaultdict(set)
    marked = 0
    for payload in rendered.payloads:
        where = _general(f"{payload.via.split(' ')[0]} after {payload.source}")
        for path, text in texts(payload):
            if PSEUDO_OPEN in text:
                marked += 1
            for fragment in leftovers(text, data):
                by_payload[where][(re.sub(r"\[\d+\]", "[#]", path), fragment)] += 1
    assert marked, "nothing was marked: is the pseudo language in force?"
    if not by_payload:
        return
    for found in by_payload.values():
        for _path, fragment in found:
            by_file[describe(locate(fragment))[0]].add(fragment)
    count = len({f for found in by_payload.values() for _p, f in found})
    lines = [
        f"{count} texts a user sees are written outside the catalogs "
        f"({len(by_payload)} payloads; marked texts: {marked}). A text in a reader's language "
        "other than the one in force, bokmål too, is probably kept by a cache that does not key "
        "on the language.",
        "",
        "== by the source file that probably writes them ==",
    ]
    for file, fragments in sorted(by_file.items()):
        lines.append(f"{file} ({len(fragments)}):")
        lines.extend(f"    «{f}»" for f in sorted(fragments))
    lines += ["", "== by where they were seen =="]
    for where, found in sorted(by_payload.items()):
        lines.append(f"{where}:")
        for (path, fragment), times in sorted(found.items()):
            seen = f" ×{times}" if times > 1 else ""
            lines.append(f"    {path}: «{fragment}»{seen}  → {describe(locate(fragment))[1]}")
    pytest.fail("\n".join(lines), pytrace=False)
