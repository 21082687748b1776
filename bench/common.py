"""What every benchmark here does the same way: its own database, the machine's load, a quiet log."""

from __future__ import annotations

import logging
import os


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
