"""How the ASGI application is served, in one place: `make run`, the tests and the benchmarks
build their uvicorn command here; deploy/Dockerfile's CMD repeats the options (a test checks).

- websockets-sansio: WebSockets at /ws/ (plain "websockets" is deprecated in uvicorn 0.54);
  chosen over daphne by bench/ws_fanout.py (less CPU per message, lower p99).
- no permessage-deflate: a compressor per socket doubled memory per connection and cost CPU
  per event per socket, for events of a few hundred bytes (bench/ws_fanout.py).
- no lifespan: Django has no startup or shutdown hooks to run.
"""

from __future__ import annotations

import sys

UVICORN_OPTIONS = ("--ws", "websockets-sansio", "--ws-per-message-deflate", "false", "--lifespan", "off")


def uvicorn_command(host: str, port: int | str, *extra: str) -> list[str]:
    return [
        sys.executable,
        *("-m", "uvicorn", "adology.asgi:application"),
        *("--host", host, "--port", str(port)),
        *UVICORN_OPTIONS,
        *extra,
    ]
