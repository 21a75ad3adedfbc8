"""The outbox's HTTP client: a slack_sdk WebClient that keeps its connections open between
posts and can post a body serialised once (`KeepAliveWebClient.post_json`), with an httptools
response reader. Self-contained: it knows Slack's Web API and Settings, nothing of the outbox.
"""

from __future__ import annotations

import http.client
import io
import json
import select
import socket
import threading
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

import httptools
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.web.slack_response import SlackResponse

from bot.settings import Settings


class KeepAliveWebClient(WebClient):
    """A WebClient that keeps one HTTP/1.1 connection per thread open between calls.

    slack_sdk's WebClient opens a new connection (and, against Slack, a new TLS handshake)
    for every call through urllib; in a burst of hundreds of posts that costs more CPU, on both
    ends, than the posts themselves. Only the transport changes: request building, retry
    handlers, response parsing and SlackApiError are slack_sdk's own. As with urllib, a non-2xx
    answer raises HTTPError (so 429 + Retry-After reaches the retry handler) and a broken
    connection raises URLError. A pooled connection the server has closed is noticed before it
    is reused; one that breaks during a call is never retried here (the message may be in the
    channel), the caller decides.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()
        self._open: set[http.client.HTTPConnection] = set()
        self._open_lock = threading.Lock()
        self._head_prefix: bytes | None = None

    def close(self) -> None:
        """Close every kept connection (threads that call again open new ones)."""
        with self._open_lock:
            conns, self._open = self._open, set()
        for conn in conns:
            conn.close()

    def _connection(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        conns: dict[tuple[str, str], http.client.HTTPConnection] = self._local.__dict__.setdefault(
            "conns", {}
        )
        conn = conns.get((scheme, netloc))
        if conn is not None and conn.sock is not None and _dropped(conn.sock):
            self._discard(conn)
            conn = None
        if conn is not None and conn.sock is None:
            with self._open_lock:  # closed by close(); http.client reopens it on the next call
                self._open.add(conn)
        if conn is None:
            if scheme == "https":
                conn = http.client.HTTPSConnection(netloc, timeout=self.timeout, context=self.ssl)
            else:
                conn = http.client.HTTPConnection(netloc, timeout=self.timeout)
            conns[(scheme, netloc)] = conn
            with self._open_lock:
                self._open.add(conn)
        return conn

    def open_connection(self) -> None:
        """Open this thread's connection now (with Slack, a TLS handshake), so the post that
        follows does not wait for it. A failure is left for that post to meet."""
        parts = urlsplit(self.base_url)
        scheme = parts.scheme.lower()
        if self.proxy is not None or scheme not in ("http", "https"):
            return
        conn = self._connection(scheme, parts.netloc)
        if conn.sock is None:
            try:
                conn.connect()
            except OSError:
                self._discard(conn)

    def _discard(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        with self._open_lock:
            self._open.discard(conn)
        conns = self._local.__dict__.get("conns", {})
        for key, kept in list(conns.items()):
            if kept is conn:
                del conns[key]

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        parts = urlsplit(url)
        if self.proxy is not None or parts.scheme.lower() not in ("http", "https"):
            return super()._perform_urllib_http_request_internal(url, req)
        conn = self._connection(parts.scheme.lower(), parts.netloc)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request(req.get_method(), path, body=req.data, headers=dict(req.header_items()))
            if _QUICKACK is not None and conn.sock is not None:
                # Servers that write the status line and the body separately would otherwise
                # wait for our delayed ACK (Nagle), some 40 ms a call.
                conn.sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as err:
            self._discard(conn)
            raise URLError(err) from err
        if resp.will_close:
            self._discard(conn)
        if not 200 <= resp.status < 300:
            raise HTTPError(url, resp.status, resp.reason, resp.msg, io.BytesIO(data))
        if resp.msg.get_content_type() == "application/gzip":
            return {"status": resp.status, "headers": resp.msg, "body": data}
        charset = resp.msg.get_content_charset() or "utf-8"
        return {"status": resp.status, "headers": resp.msg, "body": data.decode(charset)}

    def post_json(self, method: str, body: bytes) -> dict[str, Any]:
        """POST a JSON body serialised once by the caller, in one write, over the kept
        connection; returns Slack's answer, or raises SlackApiError as the WebClient does.

        For the outbox's burst of posts: WebClient.api_call builds a urllib Request, runs the
        retry handlers and parses the answer twice, several times the cost of the post itself.
        No retry handler runs here: a 429 raises at once (with its Retry-After header), so
        the caller can hold that one channel instead of a thread sleeping on it. A call that
        breaks raises URLError and is never retried here (the message may be in the channel).
        """
        url = f"{self.base_url}{method}"
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if self.proxy is not None or scheme not in ("http", "https"):
            return dict(self.api_call(method, json=json.loads(body)).data)  # type: ignore[arg-type]
        conn = self._connection(scheme, parts.netloc)
        head = self._json_head(parts.netloc, parts.path or "/", len(body))
        try:
            if conn.sock is None:
                conn.connect()  # sets TCP_NODELAY
            sock: socket.socket = conn.sock
            # Head and body in one write: two small writes would wait on each other (Nagle).
            sock.sendall(head + body)
            if _QUICKACK is not None:
                sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            status, headers, data, will_close = _read_response(sock)
        except (OSError, http.client.HTTPException) as err:
            self._discard(conn)
            raise URLError(err) from err
        if will_close:
            self._discard(conn)
        try:
            answer = json.loads(data)  # JSON is UTF-8 (RFC 8259); json.loads takes the bytes
        except (ValueError, UnicodeDecodeError):
            answer = {"ok": False, "error": f"unexpected answer (http {status})"}
        if status == 200 and isinstance(answer, dict) and answer.get("ok"):
            return answer
        raise SlackApiError(
            f"The request to the Slack API failed. (url: {url})",
            SlackResponse(
                client=self,
                http_verb="POST",
                api_url=url,
                req_args={},
                data=answer if isinstance(answer, dict) else {"ok": False},
                headers=headers,
                status_code=status,
            ),
        )

    def _json_head(self, netloc: str, path: str, length: int) -> bytes:
        # The same headers WebClient sends (its defaults, the token, JSON), built once.
        if self._head_prefix is None:
            headers = {**self.headers, "Content-Type": "application/json;charset=utf-8"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            self._head_prefix = f"Host: {netloc}\r\n{lines}".encode("latin-1")
        return (
            f"POST {path} HTTP/1.1\r\n".encode("latin-1")
            + self._head_prefix
            + f"Content-Length: {length}\r\n\r\n".encode("latin-1")
        )


_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


class _Answer:
    """Collects what httptools' parser reports of one response.

    Interim answers (1xx other than 101: 100 Continue, 103 Early Hints, ...) are complete
    messages to llhttp, which fires on_message_complete for each and goes on to parse what
    follows; they are dropped here and reading goes on until the final answer is complete.
    """

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.complete = False
        self.keep_alive = False
        self.parser: Any = None

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if _is_interim(status):
            self.headers, self.body = {}, []  # nothing of it belongs to the final answer
            return
        # Only known here: the parser resets once the message is over (and the status is
        # that of the next message as soon as its status line arrives).
        self.status = status
        self.complete = True
        self.keep_alive = bool(self.parser.should_keep_alive())


def _is_interim(status: int) -> bool:
    """1xx answers precede the final one (RFC 9110 15.2); 101 is final (the protocol switches)."""
    return 100 <= status < 200 and status != 101


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes, bool]:
    """Read one HTTP/1.1 response: status, headers (lower-case names), body, and whether the
    connection must be dropped after it.

    Parsed by httptools (llhttp, the parser Node.js uses): http.client parses headers with the
    email package, which costs more CPU than the rest of a post together. Interim 1xx answers
    are skipped (see _Answer). Bodies framed by Content-Length or chunked are read whole;
    anything malformed, an unasked-for 101 Switching Protocols, or a connection closed before
    the answer is complete, raises http.client.HTTPException (the caller drops the connection).
    """
    answer = _Answer()
    parser = answer.parser = httptools.HttpResponseParser(answer)
    while not answer.complete:
        data = sock.recv(65536)
        if not data:
            raise http.client.RemoteDisconnected("the server closed the connection mid-answer")
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade as err:  # not an HttpParserError
            raise http.client.HTTPException("the server switched protocols unasked") from err
        except httptools.HttpParserError as err:
            raise http.client.HTTPException(f"malformed answer: {err}") from err
    return answer.status, answer.headers, b"".join(answer.body), not answer.keep_alive


def _dropped(sock: socket.socket) -> bool:
    """True when a kept connection is readable while idle: the server closed it (or sent
    something unasked), so it must not carry the next request."""
    poller = select.poll()
    try:
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def make_outbox_client(settings: Settings, token: str | None = None) -> WebClient:
    """The scheduler's WebClient: honours 429 Retry-After (a 429 means nothing was posted),
    but does not blindly retry 5xx or dropped connections — after those the message may be in
    the channel, so the outbox looks before posting again. Connections are kept open between
    posts (KeepAliveWebClient)."""
    return KeepAliveWebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)],
    )
