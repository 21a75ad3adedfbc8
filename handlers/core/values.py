"""Numbers read from what Slack sends back: button values, menu choices, private_metadata.

Any of it can be crafted, and Python's own checks let through what the database refuses:
`"²".isdigit()` is true but `int("²")` fails, `1e400` parses as infinity, and an id of 2⁶³
overflows SQLite's integers (2³¹ PostgreSQL's). These return None instead, and the caller
answers as it does for a stale button or an unknown choice.
"""

from __future__ import annotations

import re

# The id columns are INTEGER: on PostgreSQL that is the smaller of the two databases' limits.
MAX_ROW_ID = 2**31 - 1
# Further than any list of the bot's pages (an offset past the rows shows an empty page).
MAX_LIST_OFFSET = 100_000
_DIGITS = re.compile(r"[0-9]{1,18}")
# A workspace's id (T…) or an Enterprise Grid organisation's (E…): upper-case letters and
# digits, and never longer than the `team_id` columns (VARCHAR(32)).
_TEAM_ID = re.compile(r"[TE][A-Z0-9]{1,31}")


def is_team_id(raw: object) -> bool:
    """Whether `raw` can be a Slack workspace (or organisation) id; anything else is crafted,
    and PostgreSQL would refuse one over 32 characters in the middle of a request."""
    return isinstance(raw, str) and _TEAM_ID.fullmatch(raw) is not None


def whole_number(raw: object, *, at_most: int) -> int | None:
    """0…at_most from an int or a string of ASCII digits; None for anything else."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and _DIGITS.fullmatch(raw):
        value = int(raw)
    else:
        return None
    return value if 0 <= value <= at_most else None


def row_id(raw: object) -> int | None:
    """A row id (1…2³¹−1) from an int or a string of ASCII digits; None for anything else."""
    value = whole_number(raw, at_most=MAX_ROW_ID)
    return value if value else None
