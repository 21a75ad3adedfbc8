"""The gettext catalogs (handlers/core/locale): complete, consistent, compiled, and written in
the language they claim. Fast; no Slack, no database.

- every message the source marks (`_`, `ngettext`, `N_`, `pgettext`), extracted as
  docs/translating.md does it, is translated in nynorsk and English: not empty, every plural
  form, not fuzzy;
- a translation keeps its message's `%(name)s` placeholders, and Babel's own checkers agree;
- the committed .mo files say what their .po files say (the bot reads the .mo);
- nynorsk reads nynorsk (no bokmål-only words) and English has no æ, ø, å outside names and
  commands;
- each catalog carries its language's plural rule.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from handlers.core.i18n import DOMAIN, LOCALE_DIR

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("bot", "handlers", "storage")
TRANSLATED = ("nn", "en")
# The keywords docs/translating.md's `pybabel extract` adds to Babel's defaults.
EXTRA_KEYWORDS = ("N_", "pgettext:1c,2")

# `%(name)s`, `%(n)d`, …: what `%` fills in from a dict. `%%` is a literal percent sign.
NAMED = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
ANY_PLACEHOLDER = re.compile(
    r"%(?:\(\w+\))?[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa%]"
)


# --- what the source marks --------------------------------------------------------------------


@dataclass(frozen=True)
class Marked:
    """One marked message in the source: its msgid (and plural), context and where."""

    msgid: str
    plural: str | None
    context: str | None
    where: str


@cache
def marked_messages() -> tuple[Marked, ...]:
    with open(LOCALE_DIR / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, str(LOCALE_DIR / "babel.cfg"))
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(EXTRA_KEYWORDS)}
    found: list[Marked] = []
    for directory in SOURCE_DIRS:
        for filename, lineno, message, _comments, context in extract_from_dir(
            ROOT / directory, method_map, options_map, keywords=keywords
        ):
            if isinstance(message, (tuple, list)):
                msgid, plural = message[0], message[1]
            else:
                msgid, plural = message, None
            if not msgid:
                continue
            found.append(Marked(msgid, plural, context, f"{directory}/{filename}:{lineno}"))
    return tuple(found)


@cache
def catalog(language: str) -> Catalog:
    with open(LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po", "rb") as f:
        return read_po(f, locale=language, domain=DOMAIN)


def messages(language: str) -> Iterator[Message]:
    """Every message of the catalog but the header."""
    return (m for m in catalog(language) if m.id)


def forms(message: Message) -> tuple[str, ...]:
    string = message.string
    if isinstance(string, (tuple, list)):
        return tuple(string)
    return (string or "",)


def short(text: str, limit: int = 90) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def test_the_source_marks_messages() -> None:
    """The extraction itself works (a broken babel.cfg would make every check below vacuous)."""
    found = marked_messages()
    assert found, f"no marked messages found in {SOURCE_DIRS}"
    assert any(m.where.startswith("handlers/core/format.py") for m in found)


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_marked_message_is_translated(language: str) -> None:
    """`_()`, `ngettext`, `N_` and `pgettext` in bot/, handlers/ and storage/: each is in the
    catalog, with every form filled in, not fuzzy. Run the commands in docs/translating.md
    (extract, update, translate, compile) when this fails."""
    problems: dict[str, list[str]] = {}
    cat = catalog(language)
    seen: set[tuple[str, str | None]] = set()
    for marked in marked_messages():
        key = (marked.msgid, marked.context)
        if key in seen:
            continue
        seen.add(key)
        message = cat.get(marked.msgid, context=marked.context)
        if message is None:
            why = "missing from the catalog"
        elif marked.plural is not None and not message.pluralizable:
            why = "a plural message (ngettext) but the catalog has it singular"
        elif marked.plural is None and message.pluralizable:
            why = "a singular message but the catalog has it plural"
        elif marked.plural is not None and message.id[1] != marked.plural:
            why = f"its plural is «{short(marked.plural)}» in the source, «{message.id[1]}» here"
        elif message.fuzzy:
            why = "fuzzy (a guess by `pybabel update`: check it and remove the flag)"
        elif not all(forms(message)):
            why = "not translated" if not any(forms(message)) else "a plural form is empty"
        elif message.pluralizable and len(forms(message)) != cat.num_plurals:
            why = f"{len(forms(message))} plural forms, the language has {cat.num_plurals}"
        else:
            continue
        context = f" (context {marked.context!r})" if marked.context else ""
        problems.setdefault(why, []).append(f"{marked.where}: «{short(marked.msgid)}»{context}")
    if problems:
        count = sum(len(v) for v in problems.values())
        lines = [f"{count} messages not ready in {language}/LC_MESSAGES/{DOMAIN}.po:"]
        for why, where in sorted(problems.items()):
            lines.append(f"  {why} ({len(where)}):")
            lines.extend(f"    {w}" for w in where)
        pytest.fail("\n".join(lines), pytrace=False)


# --- placeholders -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", TRANSLATED)
def test_babel_checkers_find_nothing(language: str) -> None:
    """Babel's checkers: placeholders compatible (python-format), the number of plural forms."""
    found = [
        f"«{short(message.id if isinstance(message.id, str) else message.id[0])}»: "
        + "; ".join(str(e) for e in errors)
        for message, errors in catalog(language).check()
        if errors
    ]
    assert not found, f"{language}: Babel's checkers:\n  " + "\n  ".join(found)


def names(text: str) -> set[str]:
    return set(NAMED.findall(text))


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_translation_keeps_its_placeholders(language: str) -> None:
    """The `%(name)s` set of every msgstr equals its msgid's (the plural forms: the plural
    msgid's): a missing one loses information, an extra one raises KeyError at run time."""
    wrong: list[str] = []
    for message in messages(language):
        ids = (message.id,) if isinstance(message.id, str) else tuple(message.id)
        for index, text in enumerate(forms(message)):
            if not text:
                continue  # untranslated: the completeness test says so
            source = ids[min(index, len(ids) - 1)]
            expected, got = names(source), names(text)
            if expected != got:
                lost = ", ".join(sorted(expected - got)) or "-"
                added = ", ".join(sorted(got - expected)) or "-"
                wrong.append(
                    f"«{short(ids[0])}» form {index}: lost {lost}, added {added}: «{short(text)}»"
                )
    assert not wrong, f"{language}: placeholders differ from the msgid:\n  " + "\n  ".join(wrong)


def test_messages_use_named_placeholders_only() -> None:
    """`%s` or `%d` in a msgid fixes the word order for every language: translators need
    `%(title)s` to move it. (`%%` is a literal percent sign.)"""
    positional = sorted(
        {
            f"{m.where}: «{short(m.msgid)}»"
            for m in marked_messages()
            for text in (m.msgid, m.plural or "")
            for p in ANY_PLACEHOLDER.findall(text)
            if p != "%%" and not p.startswith("%(")
        }
    )
    assert not positional, "positional placeholders in msgids:\n  " + "\n  ".join(positional)


# --- the compiled catalogs --------------------------------------------------------------------


def translations_of(cat: Catalog) -> dict[tuple[object, str | None], tuple[str, ...]]:
    """What a compiled catalog holds: every translated, not fuzzy message (not the header)."""
    out: dict[tuple[object, str | None], tuple[str, ...]] = {}
    for message in cat:
        if not message.id or message.fuzzy or not all(forms(message)):
            continue
        key = message.id if isinstance(message.id, str) else tuple(message.id)
        out[(key, message.context)] = forms(message)
    return out


@pytest.mark.parametrize("language", TRANSLATED)
def test_committed_mo_matches_its_po(language: str) -> None:
    """The bot reads the .mo: after editing a .po, `pybabel compile -d handlers/core/locale
    -D dks` (docs/translating.md)."""
    mo_path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    assert mo_path.exists(), f"{mo_path} is not compiled"
    compiled = io.BytesIO()
    write_mo(compiled, catalog(language), use_fuzzy=False)
    compiled.seek(0)
    expected = translations_of(read_mo(compiled))
    with open(mo_path, "rb") as f:
        committed_catalog = read_mo(f)
    committed = translations_of(committed_catalog)
    stale = sorted(
        f"«{short(str(key[0]))}»: .po «{short(' | '.join(expected[key]))}», "
        f".mo «{short(' | '.join(committed[key]))}»"
        for key in expected.keys() & committed.keys()
        if expected[key] != committed[key]
    )
    missing = sorted(f"«{short(str(k[0]))}»" for k in expected.keys() - committed.keys())
    extra = sorted(f"«{short(str(k[0]))}»" for k in committed.keys() - expected.keys())
    problems = [
        *(f"differs: {s}" for s in stale),
        *(f"in the .po, not the .mo: {m}" for m in missing),
        *(f"in the .mo, not the .po: {e}" for e in extra),
    ]
    assert not problems, f"{mo_path.relative_to(ROOT)} is stale ({len(problems)}):\n  " + (
        "\n  ".join(problems)
    )
    assert committed_catalog.plural_forms == catalog(language).plural_forms


# --- the language each catalog is written in -----------------------------------------------------

# Bokmål words nynorsk does not have (its own word after the arrow), checked as whole words.
# Only words that are not also valid nynorsk: «nå» (to reach), «også», «blir», «møter» (meets),
# «igjen», «ingenting», «lenger» and «dagen» are nynorsk too, and are not listed.
BOKMAL_ONLY = {
    "ikke": "ikkje",
    "hva": "kva",
    "hvordan": "korleis",
    "hvor": "kvar",
    "hvem": "kven",
    "hvorfor": "kvifor",
    "hvis": "viss",
    "hver": "kvar",
    "hvert": "kvart",
    "hvilken": "kva for ein",
    "hvilke": "kva for",
    "jeg": "eg",
    "bare": "berre",
    "uke": "veke",
    "uken": "veka",
    "uker": "veker",
    "dager": "dagar",
    "dagene": "dagane",
    "måned": "månad",
    "måneder": "månader",
    "noen": "nokon",
    "noe": "noko",
    "mye": "mykje",
    "hjem": "heim",
    "hjemme": "heime",
    "fra": "frå",
    "ble": "vart / blei",
    "være": "vere",
    "vært": "vore",
    "gjøre": "gjere",
    "gjør": "gjer",
    "kommer": "kjem",
    "sammen": "saman",
    "samme": "same",
    "selv": "sjølv",
    "hele": "heile",
    "mer": "meir",
    "flere": "fleire",
    "ennå": "enno",
    "allerede": "allereie",
    "uten": "utan",
    "mens": "medan",
    "siden": "sidan",
    "disse": "desse",
    "dere": "de / dykk",
    "deres": "dykkar",
    "egen": "eigen",
    "eget": "eige",
    "egne": "eigne",
    "annen": "annan",
    "annet": "anna",
    "velg": "vel",
    "velge": "velje",
    "valgt": "vald",
    "lagret": "lagra",
    "slettet": "sletta",
    "se": "sjå",
    "navn": "namn",
    "høyst": "høgst",
    "tegn": "teikn",
    "senere": "seinare",
    "tidligere": "tidlegare",
    "mulig": "mogleg",
    "ukjent": "ukjend",
    "forventet": "forventa",
    "beskrivelse": "skildring / omtale",
    "skole": "skule",
    "skolen": "skulen",
    "skoler": "skular",
    "elever": "elevar",
    "kontakter": "kontaktar",
    "frister": "fristar",
    "påminnelse": "påminning",
    "påminnelsen": "påminninga",
    "påminnelser": "påminningar",
    "forestilling": "framsyning",
    "forestillingen": "framsyninga",
    "forestillinger": "framsyningar",
    "tilbakemeldinger": "tilbakemeldingar",
}

# What is not the translator's prose: placeholders, Slack's markup, commands in backticks,
# names quoted «like this» (a button, a file's column), a command line's --options, and a
# file's identifiers (forestilling_id, skole;kommune;navn).
_NOT_PROSE = re.compile(
    r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?\w"
    r"|<[^<>]*>|`[^`]*`|«[^«»]*»|:[a-z0-9_+-]+:"
    r"|--[\w-]+|\w*_\w+|[\w-]+(?:;[\w-]+)+"
)
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


def prose(text: str) -> str:
    return _NOT_PROSE.sub(" ", text)


def test_nynorsk_reads_nynorsk() -> None:
    found: list[str] = []
    for message in messages("nn"):
        for text in forms(message):
            words = {w.casefold() for w in _WORD.findall(prose(text))}
            bad = sorted(w for w in words if w in BOKMAL_ONLY)
            if bad:
                fixes = ", ".join(f"{w} → {BOKMAL_ONLY[w]}" for w in bad)
                found.append(f"«{short(text)}»: {fixes}")
    if found:
        pytest.fail("bokmål words in the nynorsk catalog:\n  " + "\n  ".join(found), pytrace=False)


# Words that are Norwegian, never English: a sentence left in bokmål or nynorsk.
NORWEGIAN_ONLY = {"ikke", "ikkje", "og", "eller", "jeg", "eg", "hva", "kva", "dere", "hvordan"}
# Names with Norwegian letters an English text may carry (a language is called by its name).
NAMES_WITH_NORWEGIAN_LETTERS = {"bokmål"}


def test_english_reads_english() -> None:
    """No æ, ø, å in English but in commands (`/dks påminnelser`), quoted names («Ås») and
    the language names; and no Norwegian function words."""
    found: list[str] = []
    for message in messages("en"):
        for text in forms(message):
            words = {w.casefold() for w in _WORD.findall(prose(text))}
            letters = sorted(
                w for w in words if re.search("[æøå]", w) and w not in NAMES_WITH_NORWEGIAN_LETTERS
            )
            norwegian = sorted(words & NORWEGIAN_ONLY)
            if letters or norwegian:
                found.append(f"«{short(text)}»: {', '.join(letters + norwegian)}")
    if found:
        pytest.fail("Norwegian in the English catalog:\n  " + "\n  ".join(found), pytrace=False)


# --- plural rules -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", TRANSLATED)
def test_catalog_carries_its_plural_rule(language: str) -> None:
    """Nynorsk and English both say «1 dag/day», «2 dagar/days»: two forms, the second for
    every n but 1. The header is what gettext reads to pick the form."""
    cat = catalog(language)
    assert str(cat.locale) == language
    # `pybabel init` marks the header fuzzy; `pybabel compile` then skips the whole catalog.
    assert not cat.fuzzy, f"{language}/LC_MESSAGES/{DOMAIN}.po: remove «#, fuzzy» above its header"
    assert cat.num_plurals == 2
    assert re.sub(r"\s", "", cat.plural_expr) in ("(n!=1)", "n!=1")
    with open(LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo", "rb") as f:
        compiled = read_mo(f)
    assert re.sub(r"\s", "", compiled.plural_forms) == re.sub(r"\s", "", cat.plural_forms)
