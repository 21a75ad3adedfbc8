"""The outbox's connection to Slack: slack_sdk's `AsyncWebClient` on one event loop.

Slack, not our CPU, bounds a burst: a Web API call from Norway takes 100–150 ms, and a new
connection two round trips more (TCP, TLS). Posting from threads keeps one call in flight
per thread; on one event loop, every channel that may post has its post in flight at once,
over one shared `aiohttp.ClientSession` whose connector caps the open connections.

- The loop runs on a thread the sender owns, for the life of the process. The APScheduler
  tick hands it work with `run` (`asyncio.run_coroutine_threadsafe`); nothing creates a loop
  per tick.
- One `AsyncWebClient` per token, all on the shared session. `retry_handlers=[]`: slack_sdk's
  default retries a dropped connection by posting again, and the first post may already be in
  the channel. Every retry goes through the outbox, which looks before it posts again.
- Tokens come from `tokens(team_id)`: the workspace's bot token (today the one in the
  settings; with many workspaces, the installation store's).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Future
from contextvars import ContextVar
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, TypeVar

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

log = logging.getLogger(__name__)

T = TypeVar("T")
TokenSource = Callable[[str], str | None]
"""`tokens(team_id)`: the workspace's bot token, or None. Called on the loop, so it answers
from memory; a source that reads a database or refreshes tokens does that in its
`prepare(team_ids)` (optional), which the scheduler calls on its own thread before a batch,
and drops a token Slack refused in `forget(team_id)` (optional)."""

# Open connections at most: one post in flight each (HTTP/1.1). When a burst's channels may all
# post in the same second, each needs its own connection for its post to go out in that second
# (357 municipalities' channels at 09:00); a kept connection costs a few kilobytes.
DEFAULT_CONNECTIONS = 512
# A call that takes longer than this failed (the outbox looks before posting again).
CALL_TIMEOUT = 10


@dataclass
class Timing:
    """A call's moments on the loop's clock: called, its request on the wire, its answer in;
    and whether it went over a kept connection (then answer − wire is a round trip, with no
    handshakes in it). The wire time leaves out the wait for a connection and for the loop,
    which in a burst is most of a call's time before Slack sees it."""

    started: float = 0.0
    sent: float = 0.0
    answered: float = 0.0
    reused: bool = False


# The call in flight in this task, for the connection trace below (slack_sdk passes aiohttp
# no per-request context; a task's context variables reach the trace callbacks).
_CALL: ContextVar[Timing | None] = ContextVar("outbox_call", default=None)


async def _on_reuse(_session: Any, _ctx: SimpleNamespace, _params: Any) -> None:
    timing = _CALL.get()
    if timing is not None:
        timing.reused = True


async def _on_headers_sent(_session: Any, _ctx: SimpleNamespace, _params: Any) -> None:
    timing = _CALL.get()
    if timing is not None:
        timing.sent = asyncio.get_running_loop().time()


class NoToken(Exception):
    """The workspace has no bot token (uninstalled, or never installed here)."""


class AsyncSender:
    """An event loop thread, one aiohttp session, and an AsyncWebClient per token."""

    def __init__(
        self,
        *,
        base_url: str,
        tokens: TokenSource,
        connections: int = DEFAULT_CONNECTIONS,
        timeout: int = CALL_TIMEOUT,
    ) -> None:
        self.base_url = base_url
        self.connections = connections
        self._tokens = tokens
        self._timeout = timeout
        self._clients: dict[str, AsyncWebClient] = {}
        self._session: aiohttp.ClientSession | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="outbox-loop", daemon=True
        )
        self._thread.start()

    def run(self, work: Awaitable[T], timeout: float | None = None) -> T:
        """Run a coroutine on the sender's loop from another thread and wait for its result."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(work, self._loop)  # type: ignore[arg-type]
        return future.result(timeout)

    def prepare(self, team_ids: Iterable[str]) -> None:
        """Before a batch, off the loop: the token source reads and refreshes what it needs."""
        prepare = getattr(self._tokens, "prepare", None)
        if prepare is not None:
            prepare(team_ids)

    def forget(self, team_id: str) -> None:
        """Slack refused the workspace's token: the next call asks the source again."""
        forget = getattr(self._tokens, "forget", None)
        if forget is not None:
            forget(team_id)

    def client(self, team_id: str) -> AsyncWebClient:
        """The workspace's client (call on the loop). Raises NoToken."""
        token = self._tokens(team_id)
        if not token:
            raise NoToken(team_id)
        found = self._clients.get(token)
        if found is None:
            found = AsyncWebClient(
                token=token,
                base_url=self.base_url,
                session=self._shared_session(),
                timeout=self._timeout,
                retry_handlers=[],
            )
            self._clients[token] = found
        return found

    def _shared_session(self) -> aiohttp.ClientSession:
        # Created on the loop: aiohttp binds a session to the loop it is created in.
        if self._session is None or self._session.closed:
            trace = aiohttp.TraceConfig()
            trace.on_connection_reuseconn.append(_on_reuse)
            trace.on_request_headers_sent.append(_on_headers_sent)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections, limit_per_host=0),
                # slack_sdk applies its `timeout` only to sessions it makes itself: without
                # this a dead connection would wait out aiohttp's 5 minutes, a whole lease.
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                trace_configs=[trace],
            )
        return self._session

    async def call(
        self, team_id: str, method: str, timing: Timing, body: dict[str, Any] | None = None
    ) -> AsyncSlackResponse:
        """A Web API call, timed into `timing` however it ends. Raises as AsyncWebClient
        does."""
        loop = asyncio.get_running_loop()
        timing.started = timing.sent = loop.time()
        _CALL.set(timing)
        try:
            return await self.client(team_id).api_call(method, json=body)
        finally:
            timing.answered = loop.time()
            _CALL.set(None)

    async def warm(self, team_id: str, connections: int) -> Timing | None:
        """Open up to `connections` connections before a burst (they stay in the pool), so
        the first posts of the busiest channels do not pay for the handshakes; then time one
        call over a kept connection: the round trip with nothing else in flight, which the
        channels' pacing needs (during the burst every call also waits its turn).
        `api.test` needs no scope and counts against nothing a reminder needs."""
        wanted = min(connections, self.connections)
        if wanted <= 0:
            return None
        try:
            client = self.client(team_id)
        except NoToken:
            return None
        results = await asyncio.gather(
            *(client.api_call("api.test") for _ in range(wanted)), return_exceptions=True
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            log.debug("warming %d connection(s): %d failed (%r)", wanted, len(failed), failed[0])
        timing = Timing()
        try:
            await self.call(team_id, "api.test", timing)
        except Exception as err:
            log.debug("timing a call failed: %r", err)
            return None
        return timing

    def close(self) -> None:
        async def closing() -> None:
            # What is still running (a write of attempts, connections being opened) ends
            # here rather than with the interpreter.
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            if self._session is not None and not self._session.closed:
                await self._session.close()
            await self._loop.shutdown_default_executor()

        if self._loop.is_running():
            try:
                self.run(closing(), timeout=5)
            except Exception:
                log.warning("closing the outbox's HTTP session failed", exc_info=True)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        if not self._loop.is_running():
            self._loop.close()
