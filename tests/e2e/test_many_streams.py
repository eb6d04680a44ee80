"""Hundreds of open live streams do not starve ordinary requests: one hub process (a gevent
worker) holds 200 open Server-Sent Events connections while the API keeps answering, and a
delivery made then reaches every one of the 200 streams."""

from __future__ import annotations

import json
import select
import socket
import time
from urllib.parse import urlsplit

import requests

from tests.e2e.test_server_flow import session_for
from tests.support.server import RunningHub
from tests.support.world import conviction_event

STREAMS = 200
SCOPES = "messages:send messages:read inbox:read subjects:read"


def _open_stream(url: str, token: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    sock.sendall(
        (
            f"GET /v1/inbox/stream HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
    )
    return sock


def _read_until(sock: socket.socket, marker: bytes, buffer: bytearray, seconds: float) -> bool:
    sock.settimeout(seconds)
    while marker not in buffer:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return False
        if not chunk:
            return False
        buffer.extend(chunk)
    return True


def test_two_hundred_open_streams_and_the_api_still_answers(hub_server: RunningHub) -> None:
    provider = session_for(hub_server, "provider-doncaster-alliance", SCOPES)
    court = session_for(hub_server, "courts-sheffield", SCOPES)
    token = provider.token["access_token"]
    streams = [_open_stream(hub_server.url, token) for _ in range(STREAMS)]
    buffers = [bytearray() for _ in streams]
    try:
        # Every stream is open: its headers and first line (the reconnection delay) arrived.
        for sock, buffer in zip(streams, buffers, strict=True):
            assert _read_until(sock, b"retry: 2000", buffer, 30), bytes(buffer[:200])
            assert buffer.startswith(b"HTTP/1.1 200")
        # With all 200 held open, ordinary requests are answered, reads and writes alike.
        answers: list[int] = []
        for _ in range(20):
            answers.append(provider.get(f"{hub_server.url}/v1/whoami", timeout=30).status_code)
            answers.append(
                provider.get(f"{hub_server.url}/v1/inbox?limit=5", timeout=30).status_code
            )
        sent = court.post(
            f"{hub_server.url}/v1/messages",
            data=json.dumps(conviction_event()),
            headers={"Content-Type": "application/cloudevents+json"},
            timeout=30,
        )
        assert sent.status_code == 202, sent.text
        message_id = sent.json()["id"]
        assert answers == [200] * 40
        # The delivery reaches every open stream.
        reached = 0
        waiting = dict(zip(streams, buffers, strict=True))
        deadline = time.monotonic() + 90  # each stream reads (and audits) the delivery itself
        while waiting and time.monotonic() < deadline:
            ready, _, _ = select.select(list(waiting), [], [], 0.5)
            for sock in ready:
                chunk = sock.recv(65536)
                waiting[sock].extend(chunk)
                if message_id.encode() in waiting[sock]:
                    reached += 1
                    del waiting[sock]
                elif not chunk:
                    del waiting[sock]
        assert reached == STREAMS
        metrics = requests.get(f"{hub_server.url}/healthz", timeout=30)
        assert metrics.status_code == 200
    finally:
        for sock in streams:
            sock.close()
