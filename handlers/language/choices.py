"""The words for languages and for whose language, as readers of each language type them.

`/dks språk nynorsk`, `/dks språk meg english`, `/dks språk meg standard`: words are folded
(storage.folding) so case and diacritics do not matter («Bokmål», «bokmal», «BOKMAAL»).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from handlers.core.i18n import LANGUAGES, N_, _, pgettext
from storage.folding import fold

# Folded words → language code.
LANGUAGE_WORDS: dict[str, str] = {
    "nb": "nb",
    "bokmal": "nb",
    "norsk bokmal": "nb",
    "nn": "nn",
    "nynorsk": "nn",
    "norsk nynorsk": "nn",
    "en": "en",
    "english": "en",
    "engelsk": "en",
}
# `/dks språk meg …`: the reader's own choice.
ME_WORDS = frozenset({"meg", "me", "mitt", "my"})
# `/dks språk meg standard`: back to the workspace's language.
DEFAULT_WORDS = frozenset({"standard", "workspace", "default", "arbeidsomradet", "arbeidsomrade"})
# The value of «the workspace's» in the Home tab's menu.
STANDARD = "standard"

# The language's name in a sentence, in the reader's language: «på nynorsk», «in Nynorsk».
_NAMES = {"nb": N_("bokmål"), "nn": N_("nynorsk"), "en": N_("engelsk")}


def language_name(language: str | None) -> str:
    """«nynorsk» (or «Nynorsk» to an English reader); None is bokmål."""
    return _(_NAMES.get(language or "nb", _NAMES["nb"]))


def own_name(language: str) -> str:
    """The language as its own readers call it, for a menu where each reader looks for their
    own: «Bokmål», «Nynorsk», «English» (the same in every language)."""
    if language == "nn":
        return pgettext("the language's own name", "Nynorsk")
    if language == "en":
        return pgettext("the language's own name", "English")
    return pgettext("the language's own name", "Bokmål")


def language_of(word: str) -> str | None:
    """The language code a word names, or None."""
    return LANGUAGE_WORDS.get(fold(word))


@dataclass(frozen=True)
class Choice:
    """What `/dks språk …` asks for.

    - `show`: nothing chosen (`/dks språk`, `/dks språk meg`);
    - `set`: `language` for the workspace, or for the reader when `own`;
    - `clear`: the reader follows the workspace's language again;
    - `unknown`: `word` names no language.
    """

    action: Literal["show", "set", "clear", "unknown"]
    own: bool = False
    language: str | None = None
    word: str = ""


def parse(args: str) -> Choice:
    words = args.split()
    own = bool(words) and fold(words[0]) in ME_WORDS
    rest = " ".join(words[1:] if own else words)
    if not rest:
        return Choice("show", own=own)
    if own and fold(rest) in DEFAULT_WORDS:
        return Choice("clear", own=True)
    language = language_of(rest)
    if language is None or language not in LANGUAGES:
        return Choice("unknown", own=own, word=rest)
    return Choice("set", own=own, language=language)


def sets_workspace(args: str) -> bool:
    """The subcommand's access rule: only choosing the workspace's language needs a
    coordinator; anyone may look, and choose their own."""
    choice = parse(args)
    return choice.action == "set" and not choice.own
