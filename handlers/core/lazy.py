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

from slack_bolt import Ack, Respond

from handlers.core.blocks import ERROR_TEXT
from handlers.core.errors import is_database_error
from handlers.core.i18n import _
from storage.replay import Replayed

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., None])


def acknowledge(ack: Ack) -> None:
    """The ack of a click whose whole work comes after it."""
    ack()


def logs_failures(fn: F) -> F:
    """For a lazy listener: its error is logged with the traceback, as `on_error` does; when
    the database failed and the listener can answer where it was asked (`respond`), the user
    is told to try again in a moment."""

    @functools.wraps(fn)
    def run(**kwargs: Any) -> None:
        try:
            fn(**kwargs)
        except Replayed:
            log.info("replayed request: %s did nothing", fn.__qualname__)
        except Exception as error:
            log.exception("work after the ack failed: %s", fn.__qualname__)
            respond = kwargs.get("respond")
            if is_database_error(error) and respond is not None:
                _try_again(respond)

    return run  # type: ignore[return-value]


def _try_again(respond: Respond) -> None:
    try:
        respond(text=_(ERROR_TEXT), response_type="ephemeral", replace_original=False)
    except Exception as err:  # no response_url (a Home tab click), or Slack refused
        log.info("could not say the database failed: %s", type(err).__name__)
