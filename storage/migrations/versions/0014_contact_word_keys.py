"""contact search keys for word-start search

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-14

`/dks kontakt` now matches each word of a search at the start of a word («ås» no longer finds
«passord»), finds phone numbers however they are spaced, and ranks hits on the letters as
typed first (storage.folding.word_key). Every contact's `search_key` is written anew in that
format, from its fields, school and municipality. No column changes.
"""

import re
import unicodedata
from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

KEY_LENGTH = 2000  # contact.search_key
BATCH = 500

_ROWS = sa.text(
    "SELECT c.id, c.name, c.role, c.organisation, c.purpose, c.email, c.phone, s.name, "
    "COALESCE(m.name, sm.name) FROM contact c "
    "LEFT JOIN school s ON s.id = c.school_id "
    "LEFT JOIN municipality m ON m.id = c.municipality_id "
    "LEFT JOIN municipality sm ON sm.id = s.municipality_id"
)
_UPDATE = sa.text("UPDATE contact SET search_key = :key WHERE id = :id")


# --- The keys, as storage.folding wrote them when this ran (a migration stays as it was run,
# so they are copied here). --------------------------------------------------------------------

_LETTERS = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ä": "a", "ö": "o", "ð": "d", "þ": "th"})
_SPACE = re.compile(r"\s+")
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_WORD = re.compile(r"[^\W_]+")
_NUMBER_GAP = re.compile(r"[\s.\-()]+")


def _fold(text: str) -> str:
    lowered = unicodedata.normalize("NFKC", text).casefold().translate(_LETTERS)
    stripped = "".join(
        ch for ch in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(ch)
    )
    return _SPACE.sub(" ", stripped.replace("aa", "a")).strip()


def _national(digits: str) -> str:
    if len(digits) == 10 and digits.startswith("47"):
        return digits[2:]
    if len(digits) == 12 and digits.startswith("0047"):
        return digits[4:]
    return digits


def _words(text: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    clean = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text)).casefold()
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
    return "".join(_WORD.findall(_fold(word).replace("oe", "o")))


def word_key(*parts: str | None) -> str:
    tokens: dict[str, None] = {}
    for part in parts:
        for word, pieces in _words(part or ""):
            for each in (word, *pieces):
                folded = _folded(each)
                if folded and folded != each:
                    tokens["~" + folded] = None
                tokens["=" + each] = None
    key = "".join(" " + token for token in tokens)
    return key if len(key) <= KEY_LENGTH else key[: KEY_LENGTH + 1].rsplit(" ", 1)[0]


def old_key(*parts: str | None) -> str:
    """The key before this revision: folded fields joined by « | », without the phone."""
    return " | ".join(_fold(p) for p in parts if p)[:KEY_LENGTH]


# --- The migration -------------------------------------------------------------------------------


def _rekey(key_of) -> None:  # type: ignore[no-untyped-def]
    conn = op.get_bind()
    rows = conn.execute(_ROWS).all()
    for start in range(0, len(rows), BATCH):
        conn.execute(
            _UPDATE,
            [{"id": row[0], "key": key_of(row)} for row in rows[start : start + BATCH]],
        )


def upgrade() -> None:
    # r: id, name, role, organisation, purpose, email, phone, school, municipality; the key
    # takes name, role, organisation, school, municipality, phone, e-mail, purpose.
    _rekey(lambda r: word_key(r[1], r[2], r[3], r[7], r[8], r[6], r[5], r[4]))


def downgrade() -> None:
    _rekey(lambda r: old_key(r[1], r[2], r[3], r[4], r[5], r[7], r[8]))
