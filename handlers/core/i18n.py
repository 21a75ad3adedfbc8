"""Words users read, from gettext catalogs managed with Babel, in the reader's written standard.

Bokmål (`nb`) is the source language: every message is written in bokmål in the code, marked
with `_()` (or `ngettext` where a number decides the form), and the nynorsk (`nn`) and English
(`en`) catalogs in `handlers/core/locale/` translate it. A message with no translation falls
back to bokmål. docs/translating.md says how to extract, translate and compile.

The language in force is a context variable: the request middleware sets the reader's
(their own choice, else the workspace's), the scheduler sets the recipient's for each message,
and `use_language` switches for a channel post made during a request (a channel reads the
workspace's language). Bolt's listener executor copies the context, so lazy listeners keep it.

Placeholders are named (`%(title)s`) so a translation may reorder them; values are filled in
after the lookup: `_("Frist: %(title)s") % {"title": escape(title)}`.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.support import Translations

SOURCE = "nb"
LANGUAGES = ("nb", "nn", "en")
# A test language: every catalog message comes back wrapped in ⟦…⟧, so a test can find the
# words a user sees that were written outside the catalogs (tests/test_i18n_coverage.py).
PSEUDO = "qps"
PSEUDO_OPEN, PSEUDO_CLOSE = "\u27e6", "\u27e7"

DOMAIN = "dks"
LOCALE_DIR = Path(__file__).with_name("locale")

# The Babel locale each language's dates and numbers are written in. English readers here are
# in Norway: British order («Tuesday 3 November 2026»), not American.
BABEL_LOCALES: Mapping[str, str] = {"nb": "nb_NO", "nn": "nn_NO", "en": "en_GB", PSEUDO: "nb_NO"}

_language: ContextVar[str] = ContextVar("dks_language", default=SOURCE)


class _Pseudo(_gettext.NullTranslations):
    def gettext(self, message: str) -> str:
        return f"{PSEUDO_OPEN}{message}{PSEUDO_CLOSE}"

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return self.gettext(msgid1 if n == 1 else msgid2)

    def pgettext(self, context: str, message: str) -> str:
        return self.gettext(message)


@cache
def translations(language: str) -> _gettext.NullTranslations:
    """The compiled catalog for `language`; bokmål needs none (it is the source)."""
    if language == PSEUDO:
        return _Pseudo()
    if language not in LANGUAGES or language == SOURCE:
        return _gettext.NullTranslations()
    return Translations.load(str(LOCALE_DIR), [language], DOMAIN)


def current_language() -> str:
    return _language.get()


def babel_locale(language: str | None = None) -> str:
    return BABEL_LOCALES.get(language or _language.get(), BABEL_LOCALES[SOURCE])


def is_pseudo() -> bool:
    return _language.get() == PSEUDO


def gettext(message: str) -> str:
    """`message` (bokmål) in the language in force."""
    return translations(_language.get()).gettext(message)


_ = gettext


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form for `n` in the language in force, by its plural rule; fill in `%(n)d` after."""
    return translations(_language.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """`message` where the same bokmål word needs different translations by `context`."""
    return translations(_language.get()).pgettext(context, message)


def N_(message: str) -> str:
    """Marks a message for the catalogs without translating it: for declarations made at
    import (a subcommand's summary), translated with `_()` where they are shown."""
    return message


def language_or_none(language: str | None) -> str | None:
    """A stored or typed language code when it is one we speak (the pseudo language too)."""
    if language in LANGUAGES or language == PSEUDO:
        return language
    return None


@contextmanager
def use_language(language: str | None) -> Iterator[str]:
    """Speak `language` inside the block (bokmål for None or a language we do not have)."""
    chosen = language_or_none(language) or SOURCE
    token = _language.set(chosen)
    try:
        yield chosen
    finally:
        _language.reset(token)


def set_language(language: str | None) -> object:
    """For middleware: speak `language` until `reset_language(token)`."""
    return _language.set(language_or_none(language) or SOURCE)


def reset_language(token: object) -> None:
    _language.reset(token)  # type: ignore[arg-type]


def pick(user_language: str | None, workspace_language: str | None) -> str:
    """Whose language a reader gets: their own choice wins over the workspace's."""
    return language_or_none(user_language) or language_or_none(workspace_language) or SOURCE
