"""Reply now, work after: the pieces every feature's lazy listeners share.

A listener that must answer Slack at once and then do slow work (open a modal after a read,
upload a file, DM someone, refresh the Home tab) is wired as
`app.action(ID)(ack=acknowledge, lazy=[work])`: Bolt answers with the ack and runs `work` in
its own thread with a copy of the request.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt import Ack

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., None])


def acknowledge(ack: Ack) -> None:
    """The ack of a click whose whole work comes after it."""
    ack()


def logs_failures(fn: F) -> F:
    """For a lazy listener: its error is logged with the traceback, as `on_error` does."""

    @functools.wraps(fn)
    def run(**kwargs: Any) -> None:
        try:
            fn(**kwargs)
        except Exception:
            log.exception("work after the ack failed: %s", fn.__qualname__)

    return run  # type: ignore[return-value]
