"""HTTP mode: `POST /slack/events` and `GET /healthz`, served by gunicorn."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

from gunicorn.app.base import BaseApplication
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot import inbound
from bot.logs import safe_handlers
from bot.settings import Settings
from handlers.calendar import feed as calendar_feed
from storage import replay
from storage.db import make_engine, ping

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
EVENTS_PATH = "/slack/events"


def create_wsgi_app(
    app: App,
    engine: Engine,
    *,
    tick_age: Callable[[], float | None] | None = None,
    timezone: ZoneInfo | None = None,
    signing_secret: str | None = None,
) -> WSGIApp:
    """Route Slack's requests to Bolt and answer health checks.

    `tick_age` reports seconds since the scheduler's last tick when one runs in this process.
    `GET /kalender/<token>.ics` is a workspace's calendar feed, in `timezone` (BOT_TIMEZONE).
    `POST /slack/events` passes the front door (bot/inbound.py) before Bolt sees it; the
    signing secret is the App's unless given (Bolt keeps it on the App only).
    """
    slack = SlackRequestHandler(app, path=EVENTS_PATH)
    secret = app._signing_secret if signing_secret is None else signing_secret
    feed = calendar_feed.make_feed_app(engine, timezone=timezone)

    def health(start_response: Callable[..., Any]) -> Iterable[bytes]:
        body: dict[str, Any] = {"status": "ok", "database": "ok"}
        status = "200 OK"
        try:
            ping(engine)
        except SQLAlchemyError as err:
            log.error("health check: database unreachable: %s", type(err).__name__)
            body.update(status="error", database="unreachable")
            status = "503 Service Unavailable"
        if tick_age is not None:
            body["scheduler_last_tick_age_seconds"] = tick_age()
        payload = json.dumps(body).encode()
        start_response(
            status,
            [("content-type", "application/json"), ("content-length", str(len(payload)))],
        )
        return [payload]

    def events(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = inbound.read_body(environ)
        if isinstance(body, inbound.Refusal):
            return inbound.refuse(body, environ, start_response)
        headers = WsgiHttpRequest(environ).get_headers()
        problem = inbound.signature_problem(secret, body, headers)
        if problem is not None:
            return inbound.refuse(inbound.Refusal(401, problem), environ, start_response, len(body))
        request = inbound.bolt_request(body, environ)
        if isinstance(request, inbound.Refusal):
            return inbound.refuse(request, environ, start_response, len(body))
        signature = request.headers.get("x-slack-signature", [""])[0]
        with replay.guarding(replay.signature_key(signature)):
            answer = app.dispatch(request)
        response = WsgiHttpResponse(status=answer.status, headers=answer.headers, body=answer.body)
        start_response(response.status, response.get_headers())
        return response.get_body()

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if path == "/healthz" and method == "GET":
            return health(start_response)
        if calendar_feed.is_feed_request(environ):
            return feed(environ, start_response)
        if path == EVENTS_PATH and method == "POST":
            return events(environ, start_response)
        return slack(environ, start_response)

    return wsgi


def build_wsgi_app(settings: Settings) -> WSGIApp:
    """Called in each gunicorn worker after fork, so no engine or App crosses a fork."""
    from bot.app import create_app

    engine = make_engine(settings.database_url)
    return create_wsgi_app(create_app(settings, engine=engine), engine, timezone=settings.timezone)


class GunicornServer(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any] | None = None) -> None:
        self._settings = settings
        self._options = {
            "bind": f"0.0.0.0:{settings.port}",
            "workers": int(os.environ.get("WEB_CONCURRENCY", "2")),
            "worker_class": "gthread",
            # A request holds its thread until the listener's ack function returns
            # (process_before_response); work after it runs on Bolt's lazy-listener threads.
            "threads": 8,
            "timeout": 30,
            "accesslog": None,
            # gunicorn's control socket is one file per user; several `serve` processes on one
            # machine would take it over from each other, and nothing here uses it.
            "control_socket_disable": True,
            **(options or {}),
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIApp:
        # gunicorn's own loggers get the same escaping as the app's (bot/logs.py).
        for name in ("gunicorn.error", "gunicorn.access"):
            safe_handlers(logging.getLogger(name))
        return build_wsgi_app(self._settings)


def serve(settings: Settings, options: dict[str, Any] | None = None) -> None:
    GunicornServer(settings, options).run()
