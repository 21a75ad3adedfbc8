"""Word-start search over word keys (storage.folding.word_key), in memory: the directory's.

It answers what the SQL search in storage.contacts answers with `LIKE '% _word%'` (some word
of the key starts with the folded search word) and `LIKE '% =word%'` (some word as written
starts with it, which ranks first), without testing every key: each kind of word is kept
sorted, once, with the rows that have it, so the words starting with a search word are one
range found by bisection.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from storage.folding import EXACT, SearchWord

# Sorts after every character a word can hold: the end of the range of words with a prefix.
_AFTER = "\U0010ffff"


class _Words:
    """Distinct words, sorted, each with the rows whose key has it."""

    def __init__(self, postings: dict[str, list[int]]) -> None:
        self._words = sorted(postings)
        self._rows = [postings[w] for w in self._words]
        self._before = [0]  # how many rows the words before each hold, for estimates
        for rows in self._rows:
            self._before.append(self._before[-1] + len(rows))

    def span(self, prefix: str) -> tuple[int, int]:
        """The positions of the words starting with `prefix`."""
        return bisect_left(self._words, prefix), bisect_left(self._words, prefix + _AFTER)

    def weight(self, span: tuple[int, int]) -> int:
        """How many rows the words in `span` hold together (a row may be counted twice)."""
        return self._before[span[1]] - self._before[span[0]]

    def rows(self, span: tuple[int, int]) -> set[int]:
        found: set[int] = set()
        for rows in self._rows[span[0] : span[1]]:
            found.update(rows)
        return found


@lru_cache(maxsize=512)
def _starts_a_word(marker: str, word: str) -> Callable[[str], object]:
    """A test of a key: a space, a marker (a regex: «.» is any, as LIKE's «_»), then `word`."""
    return re.compile(" " + marker + re.escape(word), re.DOTALL).search


class WordIndex:
    """Which rows' keys have a word starting with every word of a search."""

    # Below this many rows, testing their keys is cheaper than reading a word's rows; so is it
    # when the word's rows outnumber them this many times over (a one-letter search).
    _FILTER_BELOW = 256
    _FILTER_RATIO = 16

    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = list(keys)
        folded: dict[str, list[int]] = {}
        exact: dict[str, list[int]] = {}
        for row, key in enumerate(self._keys):
            # Every word follows a space and its one-character marker, as the LIKE patterns
            # read it; what comes before the first space is no word.
            tokens = set(key.split(" ")[1:])
            for word in {t[1:] for t in tokens}:
                folded.setdefault(word, []).append(row)
            for token in tokens:
                if token.startswith(EXACT):
                    exact.setdefault(token[1:], []).append(row)
        self._folded = _Words(folded)
        self._exact = _Words(exact)

    def __len__(self) -> int:
        return len(self._keys)

    def rows(self, words: Sequence[SearchWord]) -> set[int]:
        """The rows with every word of the search at a word's start (after folding)."""
        if not words:
            return set(range(len(self._keys)))
        spans = sorted(
            ((w, self._folded.span(w.folded)) for w in words),
            key=lambda found: self._folded.weight(found[1]),
        )
        found = self._folded.rows(spans[0][1])
        for word, span in spans[1:]:
            if not found:
                break
            test = _starts_a_word(".", word.folded)
            found = self._narrow(found, self._folded, span, test)
        return found

    def as_typed(self, words: Sequence[SearchWord], rows: Iterable[int]) -> set[int]:
        """Those of `rows` with every word of the search as typed (ranked first)."""
        found = set(rows)
        for word in words:
            if not found:
                break
            test = _starts_a_word(re.escape(EXACT), word.exact)
            found = self._narrow(found, self._exact, self._exact.span(word.exact), test)
        return found

    def _narrow(
        self, found: set[int], words: _Words, span: tuple[int, int], test: Callable[[str], object]
    ) -> set[int]:
        """`found` less the rows without the word: by testing their keys when they are few
        (or the word is in very many rows), else by the word's rows."""
        if len(found) < self._FILTER_BELOW or len(found) * self._FILTER_RATIO < words.weight(span):
            keys = self._keys
            return {row for row in found if test(keys[row])}
        return found & words.rows(span)
