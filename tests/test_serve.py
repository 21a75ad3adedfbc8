"""`dks-bot serve` end to end: the real command on gunicorn, signed requests over HTTP."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.shell.fakeslack import FakeSlack
from bot.shell.signing import signed_headers, slash_command_body
from tests.conftest import ADMIN, CHANNEL, TEAM
from tests.helpers import assert_valid_message, visible_text

pytestmark = pytest.mark.slow

DKS_BOT = str(Path(sys.executable).with_name("dks-bot"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    secret: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def server(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Server]:
    port = free_port()
    secret = secrets.token_hex(16)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DATABASE_URL", "PORT", "WEB_CONCURRENCY", "BOT_", "DKS_"))
        and k != "REMINDER_GRACE_HOURS"
    }
    env.update(
        SLACK_BOT_TOKEN="xoxb-1234-5678-serve",
        SLACK_SIGNING_SECRET=secret,
        SLACK_API_URL=fake_slack.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'dks.db'}",
        DKS_SECRET_KEY=secrets.token_hex(32),
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [DKS_BOT, "serve", "--port", str(port), "--workers", "1"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = Server(f"http://127.0.0.1:{port}", secret, process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"serve exited early:\n{running.output()}"
            try:
                if httpx.get(running.url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"no /healthz within 60 s:\n{running.output()}"
            time.sleep(0.05)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def slash(text: str, fake: FakeSlack) -> str:
    return slash_command_body(
        text=text, team_id=TEAM, user_id=ADMIN, channel_id=CHANNEL, response_url=fake.response_url()
    )


def test_serve_answers_slack_rejects_forgeries_and_stops_cleanly(server, fake_slack):
    health = httpx.get(server.url + "/healthz", timeout=5)
    assert health.json() == {"status": "ok", "database": "ok"}
    # The app checked its token against the Web API that SLACK_API_URL names.
    assert fake_slack.calls_to("auth.test")

    body = slash("frist", fake_slack)
    events = server.url + "/slack/events"
    reply = httpx.post(
        events, content=body.encode(), headers=signed_headers(server.secret, body), timeout=10
    )
    assert reply.status_code == 200
    message = json.loads(reply.text)
    assert_valid_message(message)
    assert message["response_type"] == "ephemeral"
    text = visible_text(message)
    assert "Frister de neste 90 dagene" in text
    assert "Tilbakemelding på turnéplanene" in text  # the bundled calendar, seeded on first use

    forged = signed_headers("not-the-signing-secret", body)
    assert httpx.post(events, content=body.encode(), headers=forged).status_code == 401
    stale = signed_headers(server.secret, body, timestamp=int(time.time()) - 6 * 60)
    assert httpx.post(events, content=body.encode(), headers=stale).status_code == 401
    unsigned = {"content-type": "application/x-www-form-urlencoded"}
    assert httpx.post(events, content=body.encode(), headers=unsigned).status_code == 401
    assert httpx.get(server.url + "/ikke-her").status_code == 404
    assert httpx.post(server.url + "/slack/andre", content=b"x").status_code == 404

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=30) == 0
    output = server.output()
    assert "Traceback" not in output
    assert "Shutting down" in output
