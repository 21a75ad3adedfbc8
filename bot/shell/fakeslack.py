"""An in-process fake of Slack's Web API, served over real HTTP on localhost.

The local shell and the tests both use it (one fake, not two). It answers the Web API
methods the bot calls with Slack's documented response shapes, validates Block Kit the
way Slack does (`invalid_blocks`), records every call, serves `response_url`s, and can
inject the faults Slack produces: 429 with Retry-After, 5xx, and method errors.

Slack as it is, when asked (benchmarks, the scheduler's tests):

- latency (`latency=`): each call takes that long (half on the way in, where Slack counts
  it, half on the way back), and a new connection two round trips more (TCP and TLS);
- Slack's rate limits (https://docs.slack.dev/apis/web-api/rate-limits): chat.postMessage
  "generally allows posting one message per second per channel, while also maintaining a
  workspace-wide limit" (`limit_per_channel`, `limit_per_workspace`; the method's reference
  page puts the latter at several hundred messages a minute), and conversations.history for
  commercially distributed non-Marketplace apps since 29 May 2025: one read a minute per
  workspace and at most 15 messages a read (`limit_history`).

Many workspaces (`add_workspace`), each with its own bot tokens, issued by the install flow
or `issue_bot_token` (bot/shell/fakeoauth.py): a token reaches only its own workspace's
channels, users, views and files; Slack answers another's as if they did not exist.

Files as slack_sdk's `files_upload_v2` uploads them: files.getUploadURLExternal, the bytes
POSTed to the returned URL, then files.completeUploadExternal, which shares them in
`channel_id` (or each of `channels`, user ids meaning their DMs) with a file-share message
there, or keeps them private to the uploader when neither is given. Slack finishes sharing
asynchronously ("in many cases, the API response does not yet have complete shares in it"):
`share_delay` holds a share back from files.info and from the check below for that long.

Image blocks and image elements may show a Slack file (`"slack_file": {"id": "F…"}` or
`{"url": <url_private or permalink>}`, exactly one of the two). chat.postMessage and
chat.update refuse such a block, as Slack does, with `invalid_blocks` and
"invalid slack file [json-pointer:/blocks/N/slack_file]" when the file is unknown (or
another workspace's), not a png, jpg, jpeg or gif, or not shared in the conversation the
message goes to.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.shell.fakeoauth import Caller, TokenRegistry, Workspace, Workspaces

# Web API methods that reach a channel and therefore may be rate limited per channel.
_CHANNEL_METHODS = {"chat.postMessage", "chat.update", "chat.postEphemeral"}
# The Slack files an image block or element may show ("slack file object").
_IMAGE_TYPES = frozenset({"png", "jpg", "jpeg", "gif"})


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    team_id: str | None = None  # the workspace of the token the call carried


@dataclass
class Fault:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None


@dataclass
class FakeUser:
    id: str
    name: str
    team_id: str
    is_admin: bool = False
    is_owner: bool = False
    tz: str = "Europe/Oslo"


class _Server(ThreadingHTTPServer):
    # Slack's edge takes hundreds of connections at once; socketserver's default backlog of 5
    # makes the kernel reset a burst's new connections.
    request_queue_size = 1024
    daemon_threads = True


class FakeSlack(Workspaces):
    def __init__(
        self, *, team_id: str = "T0LOCAL", bot_user_id: str = "U0DKSBOT", latency: float = 0.0
    ) -> None:
        self.team_id = team_id
        self.latency = latency
        # Slack's clock, for message timestamps (a test with a frozen clock sets its own).
        self.now: Any = time.time
        self.open_connections = 0
        self.peak_connections = 0
        self.new_connections = 0
        self.bot_user_id = bot_user_id
        self.calls: list[Call] = []
        self.responses: list[tuple[str, dict[str, Any]]] = []  # (response_url id, body)
        self.users: dict[str, FakeUser] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        # file id -> {"content", "filename", "shares": {conversation: share}, "channel": the
        # conversation it was last shared in, ...}
        self.uploads: dict[str, dict[str, Any]] = {}
        # Seconds before a share made by files.completeUploadExternal shows (files.info, and
        # image blocks that reference the file); Slack completes sharing asynchronously.
        self.share_delay = 0.0
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._per_channel_interval: float | None = None
        self._last_post: dict[str, float] = {}
        self._per_workspace: int | None = None
        self._workspace_posts: dict[str, deque[float]] = defaultdict(deque)
        self._history_limit: tuple[float, int] | None = None  # (seconds between reads, size)
        self._history_reads: dict[str, float] = {}
        self._ids = itertools.count(1)
        self._ts = itertools.count(1)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.oauth = TokenRegistry(
            default=Workspace(team_id, "DKS", bot_user_id, "B0DKSBOT"),
            clock=lambda: float(self.now()),
        )
        self._request = threading.local()  # .caller: whose token the current call carries
        self._dm_teams: dict[str, str] = {}  # DM channel id -> workspace that opened it
        # Called with (method, args, answer) after every call Slack answered ok, and with
        # ("response_url", body, {"ok": True}) for a response_url post: the shell shows them.
        self.observers: list[Any] = []

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.handshake_due = True
                with fake._lock:
                    fake.open_connections += 1
                    fake.new_connections += 1
                    fake.peak_connections = max(fake.peak_connections, fake.open_connections)

            def finish(self) -> None:
                with fake._lock:
                    fake.open_connections -= 1
                super().finish()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the shell's terminal and test output stay readable."""

            def do_POST(self) -> None:
                if fake.latency:
                    # The way in: a new connection's TCP and TLS handshakes first.
                    time.sleep(fake.latency * (2.5 if self.handshake_due else 0.5))
                    self.handshake_due = False
                self._answer()

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                # surrogateescape keeps binary uploads (xlsx) byte-exact through str handling.
                raw = self.rfile.read(length).decode("utf-8", "surrogateescape") if length else ""
                if self.path.startswith("/files-pri/"):
                    # A file's bytes, as url_private_download serves them (not JSON).
                    code, ctype, data = fake._download(self.path, dict(self.headers.items()))
                    self._send(code, {"content-type": ctype}, data)
                    return
                if self.path.split("?")[0] == "/oauth/v2/authorize":
                    # The browser's visit to Slack's consent screen, answered by a redirect.
                    self._send(*fake._authorize_page(self.path, dict(self.headers.items())))
                    return
                status, headers, body = fake._route(self.path, dict(self.headers.items()), raw)
                json_type = {"content-type": "application/json; charset=utf-8"}
                self._send(status, {**headers, **json_type}, json.dumps(body).encode())

            def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                if fake.latency:
                    time.sleep(fake.latency / 2)  # the way back, before the answer arrives
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self) -> str:
        return f"{self.base_url}/response/{next(self._ids)}"

    # --- set-up for tests and the shell ----------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        admin: bool = False,
        owner: bool = False,
        team_id: str | None = None,
    ) -> None:
        self.users[user_id] = FakeUser(user_id, name, team_id or self.team_id, admin, owner)

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        member: bool = True,
        archived: bool = False,
        team_id: str | None = None,
    ) -> None:
        self.channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "is_channel": True,
            "is_member": member,
            "is_archived": archived,
            "context_team_id": team_id or self.team_id,
        }

    def add_file(
        self,
        name: str,
        content: bytes,
        *,
        user: str = "",
        mimetype: str = "text/csv",
        team_id: str | None = None,
    ) -> dict[str, Any]:
        """A file as if a user had uploaded it (e.g. in a modal's file_input); returns the
        file object Slack puts in the view_submission payload."""
        with self._lock:
            file_id = f"F{next(self._ids):08d}"
            self.uploads[file_id] = {
                "filename": name,
                "length": len(content),
                "content": content,
                "user": user,
                "mimetype": mimetype,
                "team_id": team_id or self.team_id,
            }
        return self._file_object(file_id)

    def _file_object(self, file_id: str) -> dict[str, Any]:
        upload = self.uploads[file_id]
        name = str(upload.get("filename") or "file")
        team = str(upload.get("team_id") or self.team_id)
        url = f"{self.base_url}/files-pri/{team}-{file_id}/{name}"
        return {
            "id": file_id,
            "created": int(time.time()),
            "timestamp": int(time.time()),
            "name": name,
            "title": upload.get("title") or name,
            "mimetype": upload.get("mimetype") or "application/octet-stream",
            "filetype": name.rsplit(".", 1)[-1].lower() if "." in name else "binary",
            "user": upload.get("user") or "",
            "user_team": team,
            "size": len(upload.get("content") or b""),
            "mode": "hosted",
            "is_external": False,
            "is_public": False,
            "url_private": url,
            "url_private_download": f"{self.base_url}/files-pri/{team}-{file_id}/download/{name}",
            "permalink": self._permalink_of(file_id),
            **self._share_fields(file_id),
        }

    def _permalink_of(self, file_id: str) -> str:
        upload = self.uploads[file_id]
        team = str(upload.get("team_id") or self.team_id)
        workspace = self.oauth.workspaces.get(team)
        base = workspace.url if workspace is not None else "https://fake.slack.com/"
        name = str(upload.get("filename") or "file")
        return f"{base}files/{upload.get('user') or self.bot_user_id}/{file_id}/{name}"

    def _visible_shares(self, file_id: str) -> dict[str, dict[str, Any]]:
        """The conversations `file_id` is shared in, as Slack shows them by now."""
        now = time.monotonic()
        shares = self.uploads.get(file_id, {}).get("shares") or {}
        return {ch: share for ch, share in shares.items() if share["visible_at"] <= now}

    def _share_fields(self, file_id: str) -> dict[str, Any]:
        """A file object's `channels`, `groups`, `ims` and `shares` (public or private)."""
        shares = self._visible_shares(file_id)
        fields: dict[str, Any] = {"channels": [], "groups": [], "ims": [], "shares": {}}
        for channel, share in shares.items():
            kind = {"D": "ims", "G": "groups"}.get(channel[:1], "channels")
            fields[kind].append(channel)
            where = "public" if kind == "channels" else "private"
            fields["shares"].setdefault(where, {})[channel] = [
                {"ts": share["ts"], "channel_name": channel, "team_id": share["team_id"]}
            ]
        fields["is_public"] = bool(fields["channels"])
        return fields

    def shared_in(self, file_id: str) -> list[str]:
        """The conversations a file has been shared in so far (for tests)."""
        with self._lock:
            return sorted((self.uploads.get(file_id, {}).get("shares") or {}).keys())

    def _download(self, path: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
        lowered = {k.lower(): v for k, v in headers.items()}
        token = (lowered.get("authorization") or "").removeprefix("Bearer ").strip()
        caller = self.oauth.resolve(token)
        with self._changed:
            call = Call("files-pri", {"path": path}, lowered, team_id=self.oauth.owner(token))
            self.calls.append(call)
            self._changed.notify_all()
        if not isinstance(caller, Caller):
            # Slack answers an unauthenticated download with its login page, not the file.
            return 302, "text/html", b"<html>login</html>"
        key = path.removeprefix("/files-pri/").split("/", 1)[0]
        file_id = key.split("-", 1)[-1]
        upload = self.uploads.get(file_id)
        if (
            upload is None
            or upload.get("content") is None
            or self._foreign(upload.get("team_id"), caller)
        ):
            return 404, "text/plain", b"file_not_found"
        return 200, str(upload.get("mimetype") or "application/octet-stream"), upload["content"]

    def fail(self, method: str, *faults: Fault) -> None:
        """Answer the next calls of `method` with these faults, in order."""
        with self._lock:
            self._faults[method].extend(faults)

    def limit_per_channel(self, seconds: float | None) -> None:
        """Enforce Slack's one-message-per-second-per-channel limit with 429 + Retry-After."""
        self._per_channel_interval = seconds

    def limit_per_workspace(self, per_minute: int | None) -> None:
        """Enforce a workspace-wide chat.postMessage limit: `per_minute` in any 60 seconds."""
        self._per_workspace = per_minute

    def limit_history(self, every: float | None = 60.0, messages: int = 15) -> None:
        """conversations.history as Slack gives it to non-Marketplace apps: one read per
        `every` seconds per workspace, at most `messages` a read. None lifts it."""
        self._history_limit = None if every is None else (every, messages)

    def team_of(self, channel: str) -> str:
        info = self.channels.get(channel)
        return str(info.get("context_team_id") or self.team_id) if info else self.team_id

    # --- inspection --------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.responses.clear()
            self.messages.clear()
            self._faults.clear()
            self._last_post.clear()
            self._workspace_posts.clear()
            self._history_reads.clear()

    # --- the API -----------------------------------------------------------------------------

    def _route(
        self, path: str, headers: dict[str, str], raw: str
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        lowered = {k.lower(): v for k, v in headers.items()}
        args = _parse_body(raw, lowered.get("content-type", ""))
        if "?" in path:
            # Slack reads arguments from the query string too (slack_sdk sends GETs so).
            path, query = path.split("?", 1)
            args = {**dict(parse_qsl(query, keep_blank_values=True)), **args}
        if path.startswith("/response/"):
            return self._response_url(path.removeprefix("/response/"), args)
        if path.startswith("/upload/"):
            return self._upload(path.removeprefix("/upload/"), raw)
        if not path.startswith("/api/"):
            return 404, {}, {"ok": False, "error": "unknown_method"}
        method = path.removeprefix("/api/").split("?")[0]
        authorization = lowered.get("authorization") or ""
        token = str(
            ("" if authorization.startswith("Basic ") else authorization)
            .removeprefix("Bearer ")
            .strip()
            or args.get("token", "")
        )
        caller = self.oauth.resolve(token) if token else "not_authed"
        call = Call(method, args, lowered, team_id=self.oauth.owner(token))
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
            fault = self._faults[method].popleft() if self._faults[method] else None
        if fault is not None:
            extra = {"retry-after": str(fault.retry_after)} if fault.retry_after is not None else {}
            error = fault.error or ("ratelimited" if fault.status == 429 else "internal_error")
            return fault.status, extra, {"ok": False, "error": error}
        if method == "oauth.v2.access":  # the app authenticates itself; no token yet
            call.team_id, body = self.oauth.access(args, lowered)
            return 200, {}, body
        if not isinstance(caller, Caller):
            return 200, {}, {"ok": False, "error": caller}
        limited = self._rate_limit(method, args)
        if limited is not None:
            return limited
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        with self._changed:
            self._request.caller, self._request.token = caller, token
            try:
                body = handler(args)
            finally:
                self._request.caller, self._request.token = None, ""
            self._changed.notify_all()
        if body.get("ok"):
            self._tell(method, args, body)
        return 200, {}, body

    def _tell(self, method: str, args: dict[str, Any], body: dict[str, Any]) -> None:
        for observer in list(self.observers):
            observer(method, args, body)

    def _authorize_page(self, path: str, headers: dict[str, str]) -> tuple[int, dict, bytes]:
        query = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
        with self._changed:
            self.calls.append(Call("oauth/v2/authorize", query, headers))
            self._changed.notify_all()
        return self.oauth.authorize_redirect(query)

    def _rate_limit(
        self, method: str, args: dict[str, Any]
    ) -> tuple[int, dict[str, str], dict[str, Any]] | None:
        now = time.monotonic()
        channel = str(args.get("channel", ""))
        with self._lock:
            if method == "conversations.history" and self._history_limit is not None:
                every, _size = self._history_limit
                team = self.team_of(channel)
                last = self._history_reads.get(team)
                if last is not None and now - last < every:
                    return _limited(every - (now - last))
                self._history_reads[team] = now
                return None
            if method not in _CHANNEL_METHODS:
                return None
            if self._per_channel_interval is not None:
                last = self._last_post.get(channel)
                if last is not None and now - last < self._per_channel_interval:
                    return _limited(self._per_channel_interval - (now - last))
            if self._per_workspace is not None and method == "chat.postMessage":
                window = self._workspace_posts[self.team_of(channel)]
                while window and now - window[0] >= 60.0:
                    window.popleft()
                if len(window) >= self._per_workspace:
                    return _limited(60.0 - (now - window[0]))
                window.append(now)
            if self._per_channel_interval is not None:
                self._last_post[channel] = now
        return None

    def _response_url(
        self, key: str, args: dict[str, Any]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        error = _invalid_blocks(args.get("blocks"))
        with self._changed:
            self.responses.append((key, args))
            self._changed.notify_all()
        if error:
            return 400, {}, {"ok": False, "error": "invalid_blocks"}
        self._tell("response_url", args, {"ok": True})
        return 200, {}, {"ok": True}

    def _next_ts(self) -> str:
        return f"{int(self.now())}.{next(self._ts):06d}"

    def _api_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.oauth.auth_test(self._caller(), getattr(self._request, "token", ""))

    def _api_apps_uninstall(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.oauth.uninstall(self._caller(), args)

    def _api_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user", "")))
        if user is None or self._foreign(user.team_id):
            return {"ok": False, "error": "user_not_found"}
        return {
            "ok": True,
            "user": {
                "id": user.id,
                "team_id": user.team_id,
                "name": user.name,
                "real_name": user.name,
                "deleted": False,
                "tz": user.tz,
                "is_admin": user.is_admin,
                "is_owner": user.is_owner,
                "is_primary_owner": False,
                "is_bot": False,
                "profile": {"real_name": user.name, "display_name": user.name},
            },
        }

    def _channel_error(self, channel: str) -> str | None:
        if self._foreign_channel(channel):
            return "channel_not_found"
        if channel.startswith(("D", "U", "W")):
            return None
        info = self.channels.get(channel)
        if info is None:
            return "channel_not_found"
        if info["is_archived"]:
            return "is_archived"
        if not info["is_member"]:
            return "not_in_channel"
        return None

    def _api_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        if (
            error := self._channel_error(channel) or _invalid_blocks(args.get("blocks"))
        ) is not None:
            return {"ok": False, "error": error}
        if refused := self._slack_file_refusal(args.get("blocks"), channel):
            return refused
        ts = self._next_ts()
        bot = self.oauth.workspaces[self._caller().team_id]
        message = {
            "type": "message",
            "user": bot.bot_user_id,
            "bot_id": bot.bot_id,
            "text": args.get("text", ""),
            "blocks": _as_list(args.get("blocks")),
            "ts": ts,
        }
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        self.messages[channel].append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _api_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if (
            error := self._channel_error(channel) or _invalid_blocks(args.get("blocks"))
        ) is not None:
            return {"ok": False, "error": error}
        if not args.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        if self._foreign_user(str(args["user"])):
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _api_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        if self._foreign_channel(channel):
            return {"ok": False, "error": "channel_not_found"}
        if (error := _invalid_blocks(args.get("blocks"))) is not None:
            return {"ok": False, "error": error}
        if refused := self._slack_file_refusal(args.get("blocks"), channel):
            return refused
        for message in self.messages.get(channel, []):
            if message["ts"] == ts:
                message["text"] = args.get("text", message["text"])
                if "blocks" in args:
                    message["blocks"] = _as_list(args.get("blocks"))
                bot = self.oauth.workspaces[self._caller().team_id]
                message["edited"] = {"user": bot.bot_user_id, "ts": self._next_ts()}
                return {"ok": True, "channel": channel, "ts": ts, "text": message["text"]}
        return {"ok": False, "error": "message_not_found"}

    def _api_chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel", "")), str(args.get("message_ts", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if self._foreign_channel(channel):
            return {"ok": False, "error": "channel_not_found"}
        if not any(m["ts"] == ts for m in self.messages.get(_conversation(channel), [])):
            return {"ok": False, "error": "message_not_found"}
        base = self.oauth.workspaces[self._caller().team_id].url
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"{base}archives/{channel}/p{ts.replace('.', '')}",
        }

    def _slack_file_refusal(self, blocks: Any, channel: str) -> dict[str, Any] | None:
        """Slack's answer to blocks showing a Slack file this conversation cannot show."""
        where = _conversation(channel)
        errors = []
        for pointer, source in _slack_files(_as_list(blocks)):
            if not self._may_show(source, where):
                errors.append(f"invalid slack file [json-pointer:{pointer}]")
        if not errors:
            return None
        return {
            "ok": False,
            "error": "invalid_blocks",
            "errors": errors,
            "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]},
        }

    def _may_show(self, source: Any, conversation: str) -> bool:
        if not isinstance(source, dict) or ("id" in source) == ("url" in source):
            return False  # exactly one of the two
        file_id = self._file_id_of(source)
        upload = self.uploads.get(file_id or "")
        if file_id is None or upload is None or upload.get("content") is None:
            return False
        if self._foreign(upload.get("team_id")):
            return False
        name = str(upload.get("filename") or "")
        if name.rsplit(".", 1)[-1].lower() not in _IMAGE_TYPES:
            return False
        return conversation in self._visible_shares(file_id)

    def _file_id_of(self, source: dict[str, Any]) -> str | None:
        if "id" in source:
            return str(source["id"])
        url = str(source.get("url") or "")
        for file_id in self.uploads:
            obj = self._file_object(file_id)
            if url in (obj["url_private"], obj["permalink"]):
                return file_id
        return None

    def _api_api_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "args": {k: v for k, v in args.items() if k != "token"}}

    def _api_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if (error := self._channel_error(channel)) is not None:
            return {"ok": False, "error": error}
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or "inf")
        inclusive = str(args.get("inclusive", "")).lower() in {"1", "true"}
        limit = min(int(args.get("limit") or 100), 999)
        if self._history_limit is not None:
            limit = min(limit, self._history_limit[1])
        # Like Slack's, the cursor holds its place when messages come or go: it is the ts of
        # the last message returned (pages go back in time from there).
        before = float(args.get("cursor") or "inf")

        def within(ts: float) -> bool:
            if ts >= before:
                return False
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        found = [m for m in reversed(self.messages.get(channel, [])) if within(float(m["ts"]))]
        page = found[:limit]
        has_more = len(found) > limit
        body: dict[str, Any] = {"ok": True, "messages": page, "has_more": has_more}
        body["response_metadata"] = {"next_cursor": page[-1]["ts"] if has_more else ""}
        return body

    def _api_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        info = self.channels.get(str(args.get("channel", "")))
        if info is None or self._foreign_channel(info["id"]):
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": dict(info)}

    def _api_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", ""))
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if any(self._foreign_user(u.strip()) for u in users.split(",")):
            return {"ok": False, "error": "user_not_found"}
        dm = _conversation(users.split(",")[0].strip())
        already = dm in self._dm_teams
        self._dm_teams[dm] = self._caller().team_id
        return {
            "ok": True,
            "no_op": already,
            "already_open": already,
            "channel": {"id": dm},
        }

    def _api_conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        info = self.channels.get(str(args.get("channel", "")))
        if info is None or self._foreign_channel(info["id"]):
            return {"ok": False, "error": "channel_not_found"}
        info["is_member"] = True
        return {"ok": True, "channel": dict(info)}

    def _store_view(self, args: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        try:
            _validate_view(view)
        except (SlackObjectFormationError, TypeError, KeyError) as err:
            return {
                "ok": False,
                "error": "invalid_arguments",
                "response_metadata": {"messages": [str(err)]},
            }
        view_id = view_id or f"V{next(self._ids):08d}"
        team = self._caller().team_id
        stored = {**view, "id": view_id, "team_id": team, "hash": self._next_ts()}
        self.views[view_id] = stored
        return {"ok": True, "view": stored}

    def _api_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_arguments"}
        return self._store_view(args)

    _api_views_push = _api_views_open

    def _api_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = str(args.get("view_id", ""))
        if view_id and (
            view_id not in self.views or self._foreign(self.views[view_id].get("team_id"))
        ):
            return {"ok": False, "error": "not_found"}
        return self._store_view(args, view_id or None)

    def _api_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user_id", ""))
        if not user_id:
            return {"ok": False, "error": "invalid_arguments"}
        if self._foreign_user(user_id):
            return {"ok": False, "error": "user_not_found"}
        result = self._store_view(args)
        if result["ok"]:
            self.home_views[user_id] = result["view"]
        return result

    # files upload v2: getUploadURLExternal → POST the bytes → completeUploadExternal

    def _upload(self, file_id: str, raw: str) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self._changed:
            if file_id not in self.uploads:
                return 404, {}, {"ok": False, "error": "file_not_found"}
            self.uploads[file_id]["content"] = raw.encode("utf-8", "surrogateescape")
            self._changed.notify_all()
        return 200, {}, {"ok": True}

    def _api_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        filename, length = args.get("filename"), args.get("length")
        if not filename or not str(length or "").isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        self.uploads[file_id] = {
            "filename": filename,
            "length": int(str(length)),
            "content": None,
            "team_id": self._caller().team_id,
        }
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _api_files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = str(args.get("file", ""))
        upload = self.uploads.get(file_id)
        if upload is None or upload.get("content") is None or self._foreign(upload.get("team_id")):
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": self._file_object(file_id)}

    def _api_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if isinstance(files, str):
            files = json.loads(files)
        if not files:
            return {"ok": False, "error": "invalid_arguments"}
        targets = [str(args["channel_id"])] if args.get("channel_id") else []
        targets += [c.strip() for c in str(args.get("channels") or "").split(",") if c.strip()]
        for target in targets:
            if self._channel_error(target) is not None:
                return {"ok": False, "error": "channel_not_found"}
        uploads = []
        for f in files:
            upload = self.uploads.get(f.get("id", ""))
            if upload is None or upload["content"] is None or self._foreign(upload.get("team_id")):
                return {"ok": False, "error": "file_not_found"}
            uploads.append((f, upload))
        bot = self.oauth.workspaces[self._caller().team_id]
        done = []
        for f, upload in uploads:
            upload.update(
                title=f.get("title"),
                user=upload.get("user") or bot.bot_user_id,
                initial_comment=args.get("initial_comment"),
            )
            if not upload.get("mimetype") and "." in str(upload["filename"]):
                ext = str(upload["filename"]).rsplit(".", 1)[-1].lower()
                upload["mimetype"] = _MIMETYPES.get(ext, "application/octet-stream")
            done.append({"id": f["id"], "title": f.get("title") or upload["filename"]})
        for target in dict.fromkeys(_conversation(t) for t in targets):
            self._share(target, [f["id"] for f, _ in uploads], args)
        return {"ok": True, "files": done}

    def _share(self, conversation: str, file_ids: list[str], args: dict[str, Any]) -> None:
        """The file-share message Slack posts in `conversation`, and the files' shares."""
        ts = self._next_ts()
        bot = self.oauth.workspaces[self._caller().team_id]
        visible_at = time.monotonic() + self.share_delay
        for file_id in file_ids:
            upload = self.uploads[file_id]
            upload.setdefault("shares", {})[conversation] = {
                "ts": ts,
                "team_id": bot.team_id,
                "visible_at": visible_at,
            }
            upload["channel"] = conversation
        message: dict[str, Any] = {
            "type": "message",
            "user": bot.bot_user_id,
            "bot_id": bot.bot_id,
            "text": str(args.get("initial_comment") or ""),
            "blocks": [],
            "files": [self._file_object(file_id) for file_id in file_ids],
            "upload": True,
            "ts": ts,
        }
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        self.messages[conversation].append(message)


_MIMETYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "csv": "text/csv",
    "zip": "application/zip",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _conversation(channel: str) -> str:
    """Where a message or share addressed to `channel` lands: a user id means their DM."""
    if channel.startswith(("U", "W")):
        return "D" + channel.lstrip("UW")
    return channel


def _slack_files(blocks: list[Any]) -> list[tuple[str, Any]]:
    """(JSON pointer, source) of every image block or element that shows a Slack file, and of
    every image block with neither source."""
    found: list[tuple[str, Any]] = []

    def walk(node: Any, pointer: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "image" and "slack_file" in node:
                found.append((f"{pointer}/slack_file", node["slack_file"]))
            elif node.get("type") == "image" and "image_url" not in node:
                found.append((f"{pointer}/slack_file", None))
            for key, value in node.items():
                if isinstance(value, (dict, list)):
                    walk(value, f"{pointer}/{key}")
        elif isinstance(node, list):
            for n, value in enumerate(node):
                walk(value, f"{pointer}/{n}")

    walk(blocks, "/blocks")
    return found


def _limited(wait: float) -> tuple[int, dict[str, str], dict[str, Any]]:
    return 429, {"retry-after": str(max(1, math.ceil(wait)))}, {"ok": False, "error": "ratelimited"}


def _parse_body(raw: str, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if "json" in content_type:
        data = json.loads(raw)
        return data if isinstance(data, dict) else {}
    return dict(parse_qsl(raw, keep_blank_values=True))


def _as_list(blocks: Any) -> list[dict[str, Any]]:
    if blocks is None:
        return []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return list(blocks)


def _invalid_blocks(blocks: Any) -> str | None:
    """Slack refuses a message whose blocks do not validate; so does the fake."""
    try:
        parsed = _as_list(blocks)
        if len(parsed) > 50 or not _all_valid(parsed):
            return "invalid_blocks"
    except (ValueError, TypeError):
        return "invalid_blocks"
    return None


def _all_valid(blocks: list[Any]) -> bool:
    return all(isinstance(b, dict) and _valid_block_shape(_shape_of(b)) for b in blocks)


def _validate_view(view: dict[str, Any]) -> None:
    """Raise as `View(**view).to_dict()` does for a view Slack would refuse.

    The view's own rules are checked on an outline with as many (trivial) blocks, and each
    block through the kept verdicts: a Home tab of 35 blocks is otherwise validated whole on
    every publish. Only a refused view is validated whole again, for slack_sdk's message."""
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        View(**view).to_dict()
        return
    View(**{**view, "blocks": [{"type": "divider"}] * len(blocks)}).to_dict()
    if not _all_valid(blocks):
        View(**view).to_dict()
        raise SlackObjectFormationError("a block of this view does not validate")


# Keys whose string values slack_sdk checks for length only (block_id ≤ 255, a button's or
# option's value ≤ 2000 / 150): a block validates exactly as its copy with these strings
# replaced by placeholders of the same length.
_LENGTH_ONLY_KEYS = frozenset({"block_id", "value"})


def _shape_of(node: Any) -> str:
    """The block as JSON with its length-only strings masked: its validity, as a cache key."""

    def masked(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: "x" * len(v) if k in _LENGTH_ONLY_KEYS and isinstance(v, str) else masked(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [masked(v) for v in value]
        return value

    return json.dumps(masked(node), sort_keys=True, separators=(",", ":"))


@functools.lru_cache(maxsize=4096)
def _valid_block_shape(shape: str) -> bool:
    """slack_sdk's verdict on one block. Kept per shape: a burst of reminders posts the same
    blocks with other ids, and parsing every copy again (slack_sdk walks every element class
    for each element) made the fake, not the bot, what a benchmark of the bot measured."""
    try:
        obj = Block.parse(json.loads(shape))
        if obj is None:
            return False
        obj.to_dict()  # validates the block and, unlike validate_json(), every element in it
    except (SlackObjectFormationError, ValueError, TypeError, KeyError):
        return False
    return True
