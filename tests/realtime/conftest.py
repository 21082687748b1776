"""A real ASGI server (uvicorn) on a free port, real Redis, real `websockets` clients.

The server is a subprocess on the pytest test database (tests here use transactional
databases so it sees their rows). A prefix unique to the session keeps these tests' channel
layer and Redis keys apart from other test sessions sharing the Redis database.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from adology.settings import realtime as realtime_settings
from tests import servers
from tests.servers import AsgiServer

PREFIX = f"rt{uuid.uuid4().hex[:8]}"
ALLOWED_ORIGIN_HOST = "dashboard.adology.test"


@pytest.fixture(autouse=True)
def realtime_settings_in_this_process(settings):
    """This process broadcasts too (signals sent by the tests, membership changes), on the
    same session-unique channel-layer prefix as the servers these tests start."""
    settings.CHANNEL_LAYER_PREFIX = PREFIX
    layers = realtime_settings.channel_layers(settings.REDIS_URL)
    layers["default"]["CONFIG"]["prefix"] = PREFIX
    settings.CHANNEL_LAYERS = layers


def server_env(extra: dict | None = None) -> dict:
    """The environment of the servers these tests start: this session's channel-layer prefix
    and the one allowed WebSocket origin."""
    return servers.server_env(extra, channel_prefix=PREFIX, websocket_allowed_origins=ALLOWED_ORIGIN_HOST)


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, django_db_blocker) -> Iterator[AsgiServer]:
    with django_db_blocker.unblock():
        env = server_env()
    server = AsgiServer(env)
    yield server
    server.stop()


def token_for(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def session_cookie_for(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


class Socket:
    """A `websockets` client that keeps every frame it received, decoded."""

    def __init__(self, url: str, **kwargs):
        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(connect(url, open_timeout=10, max_size=2**22, **kwargs))
        self.frames: list[dict] = []

    def recv(self, timeout: float = 5) -> dict:
        frame = json.loads(self.ws.recv(timeout=timeout))
        self.frames.append(frame)
        return frame

    def recv_until(self, predicate, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching frame within {timeout}s; got {self.frames[-5:]}")
            try:
                frame = self.recv(timeout=remaining)
            except TimeoutError:
                continue
            if predicate(frame):
                return frame

    def quiet_for(self, seconds: float) -> list[dict]:
        """Every frame that arrives within `seconds`."""
        got = []
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                got.append(self.recv(timeout=remaining))
            except TimeoutError:
                break
        return got

    def send(self, data) -> None:
        self.ws.send(data if isinstance(data, str | bytes) else json.dumps(data))

    def close_code(self, timeout: float = 5) -> int | None:
        """Wait for the server to close the socket; its close code."""
        try:
            while True:
                self.recv(timeout=timeout)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def open_socket(asgi_server):
    sockets = []

    def make(
        *, token: str | None = None, cookie: str | None = None, url: str | None = None, **kwargs
    ) -> Socket:
        url = url or asgi_server.ws_url
        if token:
            url = f"{url}?token={token}"
        headers = {"Cookie": cookie} if cookie else None
        socket = Socket(url, additional_headers=headers, **kwargs)
        sockets.append(socket)
        return socket

    yield make
    for socket in sockets:
        socket.close()
