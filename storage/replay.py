"""The replay guard: a request that writes does so once, in every process.

Slack signs each HTTP request; the same signature again is the same request (an attacker's
replay, a proxy's retry), accepted by the signature check for five minutes. A request that
writes stores a key for itself as the first statement of each write transaction (`claim`,
called by `storage.db.session_scope(write=True)`). A second arrival fails on the key's primary
key before anything else in its transaction happened, and raises `Replayed`; the error handler
answers 200 with no side effect. Because the key and the write commit together, a request
whose write failed leaves no key behind. Reads store nothing.

The key of the request being handled lives in a context variable (`guarding`), set by the
HTTP front door around Bolt's dispatch; Bolt's lazy listeners run with a copy of it (the App's
listener executor copies the context), so their writes are guarded by the same key, and a
request stores its key once however many write sessions it opens.

Events are keyed by `event_id` instead: Slack retries an event with a new signature. They are
recorded before they are handled (`first_time`), because handling an event may post without
writing (the offer of a reminder channel).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine, delete, event, insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col

from storage.models import RequestReplay, utcnow

log = logging.getLogger(__name__)

# Slack refuses a timestamp more than five minutes off either way, so a signature can come
# back for up to ten minutes after it was first seen; keys are kept a little longer.
KEEP = timedelta(minutes=15)
PRUNE_EVERY_SECONDS = 60.0
MAX_KEY = 100


class Replayed(Exception):
    """This request (or event) was already acted on; nothing was done this time."""


@dataclass
class _Guard:
    key: str
    claimed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


_current: ContextVar[_Guard | None] = ContextVar("dks_replay_guard", default=None)
_pruned_at = 0.0
_prune_lock = threading.Lock()


def signature_key(signature: str) -> str | None:
    """The key of a signed request, from its `X-Slack-Signature`."""
    signature = signature.strip()
    if not signature or len(signature) > MAX_KEY - 4:
        return None
    return f"sig:{signature}"


def event_key(event_id: object) -> str | None:
    """The key of an Events API delivery, the same for each of Slack's retries."""
    if not isinstance(event_id, str) or not event_id or len(event_id) > MAX_KEY - 6:
        return None
    return f"event:{event_id}"


@contextmanager
def guarding(key: str | None) -> Iterator[None]:
    """Writes inside this block (and in lazy listeners started from it) claim `key`."""
    token = _current.set(_Guard(key) if key else None)
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def suspended() -> Iterator[None]:
    """Writes that are not the request's own (seeding a new workspace) claim nothing."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


def claim(session: Session) -> None:
    """Store the current request's key as this transaction's first statement, once per
    request; `Replayed` when it is already stored."""
    guard = _current.get()
    if guard is None:
        return
    with guard.lock:
        if guard.claimed:
            return
        _prune_if_due(session)
        try:
            session.execute(insert(RequestReplay).values(key=guard.key, seen_at=utcnow()))
        except IntegrityError:
            raise Replayed(guard.key) from None
        guard.claimed = True

    def unclaim(_session: Session) -> None:
        # The key went with the rolled-back write: a later write of this request claims it.
        guard.claimed = False

    event.listen(session, "after_rollback", unclaim)


def first_time(engine: Engine, key: str) -> bool:
    """Record `key` in its own transaction; False when it was recorded before."""
    with Session(engine) as session:
        _prune_if_due(session)
        try:
            session.execute(insert(RequestReplay).values(key=key, seen_at=utcnow()))
            session.commit()
        except IntegrityError:
            session.rollback()
            return False
    return True


def _prune_if_due(session: Session) -> None:
    """Drop expired keys, at most once a minute per process, in a transaction of its own (so
    a request's write never waits on it)."""
    global _pruned_at
    with _prune_lock:
        if time.monotonic() - _pruned_at < PRUNE_EVERY_SECONDS:
            return
        _pruned_at = time.monotonic()
    engine = session.get_bind().engine
    try:
        with engine.connect() as conn:
            conn.execute(delete(RequestReplay).where(col(RequestReplay.seen_at) < utcnow() - KEEP))
            conn.commit()
    except SQLAlchemyError as err:
        log.warning("could not prune old request keys: %s", type(err).__name__)
