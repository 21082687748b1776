"""Stand-in servers for outside services, as a pytest plugin (`pytest_plugins = ["tests.servers"]`).

Every server is a real process on 127.0.0.1 at a free port, started once per test session and
stopped at its end:
- `moto_server`: SQS (and S3) from `moto[server]`; yields its endpoint URL. Fake AWS credentials
  are put in the environment for the session, so boto3 in this process and in children signs
  requests without touching real AWS.
- `sqs_broker_env`: the environment for a Celery worker or client on SQS at that moto, with a
  queue prefix unique to the session, short polls, and Redis (result backend, events bus).
- `mongo_url`: a Mongo-wire server (SecantusDB, in memory); yields a mongodb:// URL.
- `redis_url`: the Redis the test settings use.
- `celery_worker`: starts real `celery -A adology worker` processes (`.start(env, queues=...)`),
  and stops (or SIGKILLs) them; every worker still running at the end of the test is stopped.

And, for tests that start the web app itself: `AsgiServer(env)`, uvicorn serving
`adology.asgi:application` on a free port, with `server_env(...)` the environment that puts it
on the pytest test database.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import quote

import pytest
from celery.events import EventReceiver
from kombu import Connection

from adology.asgi_server import uvicorn_command
from adology.embedded import free_port, port_is_open

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _wait(
    predicate, *, timeout: float, what: str, process: subprocess.Popen | None = None, log: Path | None = None
):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not come up within {timeout}s.\n{tail}")


def database_url() -> str:
    """DATABASE_URL of the pytest test database, for the worker and server processes tests start."""
    from django.db import connection

    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    if host.startswith("/"):  # embedded PostgreSQL listens on a unix socket
        host, port = quote(host, safe=""), ""
    return f"postgres://{db['USER']}@{host}{':' if port else ''}{port}/{db['NAME']}"


def server_env(
    extra: Mapping[str, str] | None = None,
    *,
    channel_prefix: str,
    websocket_allowed_origins: str = "",
) -> dict[str, str]:
    """Environment for a web server process on the test settings and the pytest test database.

    `channel_prefix` keeps its channel layer and Redis keys apart from other test sessions
    sharing the Redis database; `extra` (e.g. `sqs_broker_env`) comes last and wins.
    """
    from django.conf import settings

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "adology.settings.test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CHANNEL_LAYER_PREFIX": channel_prefix,
        "WEBSOCKET_ALLOWED_ORIGINS": websocket_allowed_origins,
        "PYTHONUNBUFFERED": "1",
        **(extra or {}),
    }
    # The browser tests set this in the test process only (Playwright's sync API leaves an
    # event loop marked running); the server must keep Django's async-safety checks.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def _stop(process: subprocess.Popen, *, timeout: float = 10) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return response.status == 200
    except OSError:
        return False


class AsgiServer:
    """`uvicorn adology.asgi:application` on a free port."""

    def __init__(self, env: dict):
        self.port = free_port()
        self.log = Path(tempfile.mkstemp(prefix="asgi-", suffix=".log")[1])
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                uvicorn_command("127.0.0.1", self.port, "--no-access-log"),
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while not port_is_open("127.0.0.1", self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ASGI server did not start:\n{self.output[-3000:]}")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        _stop(self.process)
        self.log.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def aws_credentials() -> Iterator[dict[str, str]]:
    """Fake AWS credentials in os.environ for the session (restored afterwards)."""
    saved = {key: os.environ.get(key) for key in FAKE_AWS}
    os.environ.update(FAKE_AWS)
    yield dict(FAKE_AWS)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def moto_server(aws_credentials, tmp_path_factory) -> Iterator[str]:
    """A moto server (SQS, S3, ...) on 127.0.0.1; yields its endpoint URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **aws_credentials},
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait(
            lambda: _http_ok(f"{endpoint}/moto-api/"),
            timeout=30,
            what="moto_server",
            process=process,
            log=log,
        )
        yield endpoint
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def redis_url() -> str:
    from django.conf import settings

    return settings.REDIS_URL


@pytest.fixture(scope="session")
def sqs_broker_env(moto_server, redis_url, aws_credentials) -> dict[str, str]:
    """Environment for Celery on SQS at the session's moto (queues prefixed uniquely).

    Queues are not created here: run `ingestion.queues.ensure_queues(environ=env)` (or
    `manage.py sqs_setup` with this env). Add DATABASE_URL for tasks that use the database.
    """
    # Browser tests allow sync database calls in this process while Playwright runs; the
    # workers started from this environment keep Django's check.
    environ = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {
        **environ,
        **aws_credentials,
        "DJANGO_SETTINGS_MODULE": "adology.settings.test",
        "CELERY_BROKER_URL": "sqs://",
        "AWS_ENDPOINT_URL": moto_server,
        "SQS_QUEUE_PREFIX": f"t{uuid.uuid4().hex[:8]}-",
        # Short long polls so workers notice messages and stop quickly.
        "SQS_WAIT_TIME_SECONDS": "1",
        "REDIS_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "CELERY_EVENTS_URL": redis_url,
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture(scope="session")
def mongo_url(tmp_path_factory) -> Iterator[str]:
    """A Mongo-wire server (SecantusDB, in memory: dev/test only, GPL) on 127.0.0.1."""
    port = free_port()
    log = tmp_path_factory.mktemp("mongo") / "secantus.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                str(BIN / "secantusd-py"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--storage-path",
                ":memory:",
                "--log-level",
                "WARNING",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
        )
    try:
        _wait(
            lambda: port_is_open("127.0.0.1", port), timeout=30, what="SecantusDB", process=process, log=log
        )
        # It advertises itself as a one-node replica set (transactions need one) under a name
        # the driver would try to resolve: connect to this node directly.
        yield f"mongodb://127.0.0.1:{port}/?directConnection=true"
    finally:
        _stop(process)


class CeleryWorker:
    """A real `celery -A adology worker` process, started in its own process group."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        queues: str,
        pool: str = "threads",
        concurrency: int = 2,
        hostname: str | None = None,
        extra_args: tuple[str, ...] = (),
    ):
        self.hostname = hostname or f"w{uuid.uuid4().hex[:8]}@test"
        self.log = Path(tempfile.mkstemp(prefix="celery-worker-", suffix=".log")[1])
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "adology",
                    "worker",
                    "-Q",
                    queues,
                    "--pool",
                    pool,
                    "-c",
                    str(concurrency),
                    "-n",
                    self.hostname,
                    "-l",
                    "INFO",
                    *extra_args,
                ],
                cwd=ROOT,
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30) -> CeleryWorker:
        _wait(
            lambda: " ready." in self.output,
            timeout=timeout,
            what="celery worker",
            process=self.process,
            log=self.log,
        )
        return self

    def children(self) -> list[int]:
        """Pids of the pool's processes (prefork), for killing one mid-task."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def stop(self, timeout: float = 20) -> int:
        """Warm shutdown (SIGTERM): running tasks finish; SIGKILL if it takes longer than `timeout`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as a lost machine would."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def cleanup(self) -> None:
        self.stop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # pool processes left behind, if any
        self.log.unlink(missing_ok=True)


class WorkerFactory:
    def __init__(self):
        self.workers: list[CeleryWorker] = []

    def start(self, env: Mapping[str, str], *, queues: str, wait: bool = True, **kwargs) -> CeleryWorker:
        worker = CeleryWorker(env, queues=queues, **kwargs)
        self.workers.append(worker)
        return worker.wait_ready() if wait else worker


@pytest.fixture
def celery_worker() -> Iterator[WorkerFactory]:
    """Starts real Celery workers: `celery_worker.start(env, queues="default", pool="prefork")`."""
    factory = WorkerFactory()
    yield factory
    for worker in factory.workers:
        worker.cleanup()


class BusEvents:
    """Every event on the events bus, collected by a celery.events.EventReceiver in a thread."""

    def __init__(self, url: str):
        self.events: list[dict] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url,), daemon=True)

    def _run(self, url):
        with Connection(url) as conn:
            receiver = EventReceiver(conn, handlers={"*": self.events.append})
            with receiver.consumer_context(wakeup=False) as (connection, _, _):
                while not self._stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        connection.drain_events(timeout=0.2)
                    # The bus is Redis pub/sub, which keeps nothing for absent subscribers: the
                    # first drain subscribes, and only then may the test publish.
                    self._ready.set()

    def __enter__(self):
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)

    def of(self, task_id: str) -> list[str]:
        return [e["type"] for e in list(self.events) if e.get("uuid") == task_id]
