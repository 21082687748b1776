"""What every benchmark here does the same way: its own database, the machine's load, a quiet log."""

from __future__ import annotations

import cProfile
import io
import logging
import os
import pstats
import warnings


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: other work on the 2 cores skews every figure."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def ensure_database(db: dict) -> bool:
    """Create the benchmark's database (a Django DATABASES entry) when it is missing, before
    Django connects to it. True when it was created."""
    import psycopg2

    params = {"user": db.get("USER") or None, "password": db.get("PASSWORD") or None}
    if db.get("HOST"):
        params["host"] = db["HOST"]
    if db.get("PORT"):
        params["port"] = db["PORT"]
    try:
        psycopg2.connect(dbname=db["NAME"], **params).close()
        return False
    except psycopg2.OperationalError:
        pass
    conn = psycopg2.connect(dbname="postgres", **params)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{db["NAME"]}"')
    conn.close()
    return True


def quiet_http_client_logs() -> None:
    """The benchmark prints its own report: no line per request from the HTTP client."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def start_django(ensure_database_of_settings) -> None:
    """Set Django up on the benchmark's database (created first when missing), quietly, and
    print which database and machine the figures come from."""
    import django
    from django.conf import settings

    ensure_database_of_settings()
    django.setup()
    quiet_http_client_logs()
    # No STATIC_ROOT in the benchmarks' settings: Django's warning about it is noise here.
    warnings.filterwarnings("ignore", message="No directory at", module="django.core.handlers.base")
    db = settings.DATABASES["default"]
    print(
        f"database: {db['NAME']} on {db.get('HOST') or 'local socket'}:{db.get('PORT') or ''} "
        f"(settings {os.environ['DJANGO_SETTINGS_MODULE']}, DEBUG={settings.DEBUG}); cores: {os.cpu_count()}"
    )
    print(f"load average at start: {load_average()}")


def profile_requests(client, url: str, n: int, *, label: str, top: int = 20) -> None:
    """cProfile of `n` in-process requests of `url` (after one warm-up), top entries by
    cumulative and own time."""
    client.get(url)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        client.get(url)
    profiler.disable()
    for key in ("cumulative", "tottime"):
        print(f"\n--- cProfile of {n} in-process requests of {label}, top {top} by {key} ---")
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).strip_dirs().sort_stats(key).print_stats(top)
        print("\n".join(line for line in stream.getvalue().splitlines() if line.strip())[: 320 * top])
