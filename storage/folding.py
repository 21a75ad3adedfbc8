"""Search keys that match the way Norwegians type on an English keyboard."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

# Ø and Æ have no Unicode decomposition, so accent-stripping alone never matches them.
_LETTERS = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ä": "a", "ö": "o", "ð": "d", "þ": "th"})
_SPACE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Fold text for case- and accent-insensitive search: «Åse Østfold» → «ase ostfold».

    «aa» folds to «a» as well, because Å is written «aa» in older names and by people
    without the key (Aasen, Aase).
    """
    lowered = unicodedata.normalize("NFKC", text).casefold().translate(_LETTERS)
    stripped = "".join(
        ch for ch in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(ch)
    )
    return _SPACE.sub(" ", stripped.replace("aa", "a")).strip()


def search_key(*parts: str | None) -> str:
    return " | ".join(fold(p) for p in parts if p)


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(query: str) -> str:
    """A LIKE pattern for a folded query, with LIKE's wildcards escaped (escape char '\\')."""
    return f"%{_like_escaped(fold(query))}%"


# --- Word search (the directory) ---------------------------------------------------------------
#
# `/dks kontakt` matches each word of a search at the start of a word: «ås» finds Ås and Åsen,
# not «passord». A contact's key lists its words once each, every one after a space and a
# marker: «=word» is a word as written (lower case), «~word» the folded form of a word that
# folding changes. «Åse Øvergaard, 99 88 77 66» is keyed
#     " ~ase =åse ~overgard =øvergaard =99887766 =99 =88 =77 =66"
# so `LIKE '% _term%'` (space, any marker, the folded word) is a word-start match on folded
# text and `LIKE '% =term%'` one on the letters as typed, which ranks first. The in-memory
# directory (storage.wordindex) reads the same keys with the same two rules.

# Invisible characters that only steer layout or direction (zero-width spaces and joiners,
# bidi marks, embeddings, overrides and isolates, the BOM, soft hyphen): pasted into a search
# they would split or hide a word, and echoed back they could reorder the reply.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_WORD = re.compile(r"[^\W_]+")
# What may stand between the digit groups of one number: «+47 998 87 766», «22-33.44 (55)».
_NUMBER_GAP = re.compile(r"[\s.\-()]+")
EXACT, FOLDED = "=", "~"


def strip_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text)


def _national(digits: str) -> str:
    """A Norwegian number without its country code (+47, 0047), as people dial it at home."""
    if len(digits) == 10 and digits.startswith("47"):
        return digits[2:]
    if len(digits) == 12 and digits.startswith("0047"):
        return digits[4:]
    return digits


def _words(text: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    """The words of `text`, lower case, each with the pieces it was joined from: digit groups
    in a row are one number («99 88 77 66» is «99887766»), so a phone number is found however
    it is spaced."""
    clean = unicodedata.normalize("NFKC", strip_invisible(text)).casefold()
    groups: list[str] = []
    end = 0
    for match in _WORD.finditer(clean):
        word = match.group()
        if word.isdecimal():
            if groups and not _NUMBER_GAP.fullmatch(clean, end, match.start()):
                yield _national("".join(groups)), tuple(groups)
                groups = []
            groups.append(word)
        else:
            if groups:
                yield _national("".join(groups)), tuple(groups)
                groups = []
            yield word, ()
        end = match.end()
    if groups:
        yield _national("".join(groups)), tuple(groups)


def _folded(word: str) -> str:
    """`fold`, and «oe» as «ø» the way «aa» is «å» (Oevergaard, Hoel): both sides of a search
    go through this, so only the key and the search need to agree."""
    return "".join(_WORD.findall(fold(word).replace("oe", "o")))


@dataclass(frozen=True)
class SearchWord:
    folded: str  # what must start a word of the key after folding
    exact: str  # the word as typed, lower case: a hit on it ranks first


def search_words(query: str | None) -> list[SearchWord] | None:
    """The words of a search; None when it has none at all (blank: everything matches), an
    empty list when it has text but no letters or digits (nothing matches)."""
    text = strip_invisible(query or "")
    if not text.strip():
        return None
    found = (SearchWord(_folded(word), word) for word, _ in _words(text))
    return list(dict.fromkeys(w for w in found if w.folded))


def word_key(*parts: str | None, limit: int) -> str:
    """The search key of `parts` for word-start search (see above), whole words up to `limit`
    characters: put the parts people search by most first."""
    tokens: dict[str, None] = {}
    for part in parts:
        for word, pieces in _words(part or ""):
            for each in (word, *pieces):
                folded = _folded(each)
                if folded and folded != each:
                    tokens[FOLDED + folded] = None
                tokens[EXACT + each] = None
    key = "".join(" " + token for token in tokens)
    return key if len(key) <= limit else key[: limit + 1].rsplit(" ", 1)[0]


def word_like(word: SearchWord) -> str:
    """A LIKE pattern (escape char '\\'): some word of the key starts with `word`, folded."""
    return f"% _{_like_escaped(word.folded)}%"


def exact_like(word: SearchWord) -> str:
    """A LIKE pattern (escape char '\\'): some word starts with `word` as typed."""
    return f"% {EXACT}{_like_escaped(word.exact)}%"
