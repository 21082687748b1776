"""Browser tests of the dashboard: real Chromium (Debian's, driven by Playwright for Python)
against a real uvicorn server on the pytest test database.

The server is another process, so every test here needs a transactional database
(`pytest.mark.django_db(transaction=True)`; `page` and `pipeline` request it too) and its
rows are seen by the server once created.

Fixtures:
- `dashboard_server` (session): `AsgiServer` serving the app, static files included.
- `pipeline`: a second server whose POSTs enqueue on SQS (moto) to a real Celery worker on
  every queue, which ingests from the sample ad source into S3 (moto) and the test database.
- `browser` (module): headless Chromium at $CHROMIUM (default /usr/bin/chromium).
- `page`: a fresh browser context and page, its base URL the test's server (the pipeline's
  when the test uses `pipeline`, else `dashboard_server`), so `page.goto("/login/")` works.
- `page_problems`: what went wrong in `page` that a user may not see at once: responses of
  400 and up, requests that failed (a stylesheet that 404s is blocked, not answered),
  console errors and uncaught script errors. Assert it is `[]`.
Helpers: `signed_in(page, user)`, `screenshot(page, name)`.
"""

from __future__ import annotations

import logging
import os
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

import celeryconfig
from adology.settings import realtime as realtime_settings
from ingestion.queues import ensure_queues
from ingestion.sources.sample import SAMPLE_ACCESS_TOKEN, SAMPLE_API_KEY, SampleServer, start_sample_server
from tests.factories import PASSWORD
from tests.servers import AsgiServer, CeleryWorker, server_env

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
FAILURES = ROOT / "test-artifacts" / "failures"
PREFIX = f"dash{uuid.uuid4().hex[:8]}"

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling Google's services, which this
# machine's closed network refuses over and over.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORTS = {"laptop": {"width": 1366, "height": 800}, "phone": {"width": 390, "height": 844}}
TIMEOUT_MS = 10_000

PIPELINE_ADS_PER_BRAND = 18


@pytest.fixture(autouse=True)
def realtime_settings_in_this_process(settings):
    """What this process broadcasts (signals fired by test code) goes out on the servers'
    channel-layer prefix, so the pages' sockets hear it."""
    settings.CHANNEL_LAYER_PREFIX = PREFIX
    layers = realtime_settings.channel_layers(settings.REDIS_URL)
    layers["default"]["CONFIG"]["prefix"] = PREFIX
    settings.CHANNEL_LAYERS = layers


def _assert_static_served(server: AsgiServer) -> None:
    """WhiteNoise serves app static files straight from the finders under the test settings
    (DEBUG off, no collectstatic); a stylesheet every install has proves it."""
    url = f"{server.url}/static/admin/css/base.css"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            if response.status == 200:
                return
            status = response.status
    except OSError as exc:
        status = exc
    raise RuntimeError(f"{url} is not served ({status}):\n{server.output[-3000:]}")


@pytest.fixture(scope="session")
def dashboard_server(django_db_setup, django_db_blocker) -> Iterator[AsgiServer]:
    """The app on uvicorn, on the test database, with its own channel-layer prefix."""
    with django_db_blocker.unblock():
        env = server_env(channel_prefix=PREFIX)
    server = AsgiServer(env)
    try:
        _assert_static_served(server)
        yield server
    finally:
        server.stop()


@dataclass
class Pipeline:
    server: AsgiServer  # the app, enqueueing on the worker's broker
    worker: CeleryWorker
    sample: SampleServer  # `sample.faults`, `sample.requests` for tests
    env: dict[str, str]
    ads_per_brand: int = PIPELINE_ADS_PER_BRAND

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def pipeline(transactional_db, sqs_broker_env, moto_server, mongo_url, celery_worker) -> Iterator[Pipeline]:
    """A worker on every queue, the sample ad source, S3 and SQS at moto, and an app server on
    the same broker: "Refresh now" on a page runs a real ingestion."""
    bucket = f"adology-dash-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1").create_bucket(Bucket=bucket)
    sample, sample_url = start_sample_server(
        ads_per_brand=PIPELINE_ADS_PER_BRAND, page_size=6, latency_s=0.05
    )
    pipeline_settings = {
        **sqs_broker_env,
        # A queue prefix per test: nothing a previous test left in SQS reaches this worker.
        "SQS_QUEUE_PREFIX": f"d{uuid.uuid4().hex[:8]}-",
        "SQS_VISIBILITY_TIMEOUT": "6",
        "MONGO_URL": mongo_url,
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "META_GRAPH_URL": sample_url,
        "META_ACCESS_TOKEN": SAMPLE_ACCESS_TOKEN,
        "SERPAPI_URL": sample_url,
        "SERPAPI_API_KEY": SAMPLE_API_KEY,
        "ACQUIRE_BATCH_SIZE": "3",
        "ACQUIRE_CONCURRENCY": "4",
        "COMMIT_RECHECK_SECONDS": "1",
        "REALTIME_PROGRESS_INTERVAL_SECONDS": "0.1",
    }
    env = server_env(
        {
            key: value
            for key, value in pipeline_settings.items()
            # server_env decides these: the test settings on the pytest test database
            if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")
        },
        channel_prefix=PREFIX,
    )
    server = None
    try:
        ensure_queues(environ=env)
        # The worker and the server start side by side: both spend seconds importing Django.
        worker = celery_worker.start(
            env, queues=",".join(celeryconfig.ALL_QUEUES), pool="threads", concurrency=4, wait=False
        )
        server = AsgiServer(env)
        worker.wait_ready(timeout=60)
        yield Pipeline(server=server, worker=worker, sample=sample, env=env)
    finally:
        if server is not None:
            server.stop()
        sample.stop()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, one per test module.

    Per module, not per session: while Playwright's sync API is running, this thread counts as
    inside an event loop, and Django refuses ORM calls there unless DJANGO_ALLOW_ASYNC_UNSAFE
    is set. The flag is set only while a browser is up (and never passed to the servers), so
    the rest of the suite keeps Django's checks.
    """
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"The browser tests need Chromium at {CHROMIUM} and there is none. Run `make test` "
            "(it installs Debian's chromium where it can), or `apt-get install -y chromium` as "
            "root, or set CHROMIUM=/path/to/chromium.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def app_server(request) -> AsgiServer:
    """The server this test's page talks to: the pipeline's when the test uses `pipeline`."""
    if "pipeline" in request.fixturenames:
        return request.getfixturevalue("pipeline").server
    return request.getfixturevalue("dashboard_server")


@pytest.fixture
def page(request, transactional_db, browser, app_server):
    """A page in a fresh context (no cookies) at laptop size; relative URLs go to `app_server`.

    On a failed test a full-page screenshot goes to test-artifacts/failures/ and the end of
    the server's log to the test's captured log (a 500's traceback is there).
    """
    context = browser.new_context(base_url=app_server.url, viewport=VIEWPORTS["laptop"])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        FAILURES.mkdir(parents=True, exist_ok=True)
        path = FAILURES / f"{request.node.name}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
            logger.info("failure screenshot: %s", path)
        except Exception:  # the page may be what broke; the test's own error matters more
            logger.exception("could not take a failure screenshot")
        logger.error("end of the server's log:\n%s", app_server.output[-6000:])
    context.close()


@pytest.fixture
def page_problems(page) -> list[str]:
    """Every error response, failed request, console error and uncaught script error of `page`
    from now on, as lines of text."""
    problems: list[str] = []

    def on_response(response):
        if response.status >= 400:
            problems.append(f"{response.status} {response.request.method} {response.url}")

    def on_request_failed(request):
        problems.append(f"failed {request.method} {request.url}: {request.failure}")

    def on_console(message):
        source = message.location.get("url", "")
        if message.type == "error":
            problems.append(f"console: {message.text} ({source})")

    page.on("response", on_response)
    page.on("requestfailed", on_request_failed)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    return problems


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keeps the call phase's report on the item, for `page` to see the test failed."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.report_call = report


def screenshot(page, name: str) -> list[Path]:
    """Full-page PNGs of what `page` shows at laptop and phone widths:
    test-artifacts/screenshots/<name>-laptop.png and <name>-phone.png. Kept after the run."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    paths = []
    try:
        for label, size in VIEWPORTS.items():
            page.set_viewport_size(size)
            # Layout settles on the next frame after a resize.
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            path = SCREENSHOTS / f"{name}-{label}.png"
            page.screenshot(path=str(path), full_page=True, animations="disabled")
            paths.append(path)
    finally:
        if original:
            page.set_viewport_size(original)
    return paths


def signed_in(page, user, password: str = PASSWORD):
    """Signs `user` in through the /login/ form (factories' users have PASSWORD); returns the
    page, now wherever the login sent it."""
    page.goto("/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    if "/login/" in page.url:
        raise AssertionError(f"sign-in as {user.email} failed; the page says:\n{page.inner_text('body')}")
    return page
