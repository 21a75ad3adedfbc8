"""Search keys that match the way Norwegians type on an English keyboard."""

from __future__ import annotations

import re
import unicodedata

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


def like_pattern(query: str) -> str:
    """A LIKE pattern for a folded query, with LIKE's wildcards escaped (escape char '\\')."""
    escaped = fold(query).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
