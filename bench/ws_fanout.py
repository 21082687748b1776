"""Benchmark: WebSocket fan-out of realtime events to 1,000 clients of one brandspace.

    .venv/bin/python bench/ws_fanout.py [--clients 1000] [--events 200] [--rate 10]
                                        [--layers core,pubsub] [--servers uvicorn]

For each channel layer (channels_redis RedisChannelLayer "core" and RedisPubSubChannelLayer
"pubsub") and each ASGI server named (uvicorn, daphne), in the same run:
1. one server process, with the production command line (deploy/) on a free 127.0.0.1 port,
   settings `adology.settings.test` on the database
   `adology_bench_ws`, created and migrated when missing, of the PostgreSQL server the test
   settings pick, and the test settings' Redis with a prefix of its own;
2. N clients, each an organization member with its own API token, connect (in 2 client
   processes, so the clients' own CPU is not the bottleneck on its own) and wait for their
   snapshot; the server's RSS before and after gives memory per connection;
3. a separate process broadcasts E events (`realtime.broadcast.broadcast`, as the pipeline
   does) at R events/s to the brandspace; each carries its send time and sequence number.
   10/s by default: progress is coalesced to at most 4 events/s per run
   (REALTIME_PROGRESS_INTERVAL_SECONDS), so 10/s is two or three runs at full progress rate
   in one brandspace at once;
4. prints delivery latency p50/p99/max (receive time minus send time), messages delivered per
   second, lost messages, server memory per connection and server CPU per delivered message,
   then how every socket ended (close code and reason) and which events were missed.
   A client leaves once it has every event; what is missing `--grace` seconds after the last
   send counts as lost. Goals: zero lost, p99 <= 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adology.settings.test")

from bench import common  # noqa: E402

os.environ.setdefault("LOG_LEVEL", "WARNING")

from adology.asgi_server import UVICORN_OPTIONS  # noqa: E402

DB_NAME = "adology_bench_ws"
CLIENT_PROCESSES = 2


# ---------------------------------------------------------------- clients (child process)


class _Client:
    """One socket's record: what arrived, how late, and how the socket ended."""

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.latencies: list[float] = []
        self.last_received = 0.0
        self.ended = "open"  # "complete", "closed <code> <reason>", "error <type>", "stopped"


async def _client(url: str, token: str, expected: int, record: _Client, ready: asyncio.Event, sem):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    try:
        async with sem:
            # No client keepalive pings: the server pings (uvicorn --ws-ping-interval), and a
            # client timing out the server's pong under load would be a loss we caused here.
            ws = await connect(f"{url}?token={token}", max_size=2**20, open_timeout=120, ping_interval=None)
            json.loads(await ws.recv())  # the snapshot: subscribed
    except Exception as exc:  # recorded and reported, not hidden
        record.ended = f"connect failed: {type(exc).__name__} {exc}"[:200]
        ready.set()
        return
    ready.set()
    try:
        while len(record.seqs) < expected:
            text = await ws.recv()
            now = time.time()
            event = json.loads(text)
            if event["type"] == "run.progress":
                record.latencies.append(now - event["payload"]["sent"])
                record.seqs.append(event["payload"]["seq"])
                record.last_received = now
        record.ended = "complete"
    except ConnectionClosed as exc:
        close = exc.rcvd
        record.ended = f"closed {close.code} {close.reason}" if close else "closed without a close frame"
    except asyncio.CancelledError:
        record.ended = "stopped"  # the run ended before this socket got every event
    except Exception as exc:
        record.ended = f"error {type(exc).__name__} {exc}"[:200]
    finally:
        await ws.close()


async def _clients_main(url: str, tokens: list[str], expected: int) -> None:
    sem = asyncio.Semaphore(50)  # connect 50 at a time: a handshake storm is not what we measure
    records = [_Client() for _ in tokens]
    events = [asyncio.Event() for _ in tokens]
    tasks = [
        asyncio.create_task(_client(url, t, expected, r, e, sem))
        for t, r, e in zip(tokens, records, events, strict=True)
    ]
    await asyncio.gather(*(e.wait() for e in events))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    # The parent writes "stop" when the broadcast is over and the grace period has passed.
    stop = asyncio.ensure_future(asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline))
    clients_done = asyncio.ensure_future(asyncio.gather(*tasks, return_exceptions=True))
    await asyncio.wait([stop, clients_done], return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()
    await clients_done
    result = {
        "latencies": [x for r in records for x in r.latencies],
        "last_received": max((r.last_received for r in records), default=0.0),
        "ended": [r.ended for r in records],
        "missing": [sorted(set(range(expected)) - set(r.seqs)) for r in records],
        "out_of_order": sum(r.seqs != sorted(r.seqs) for r in records),
    }
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)  # the stdin reader thread may still be blocked on readline


# ---------------------------------------------------------------- broadcaster (child process)


def _broadcast_main(space_id: int, events: int, rate: float) -> None:
    import django

    django.setup()
    from realtime import events as schema
    from realtime.broadcast import broadcast

    started = time.time()
    for seq in range(events):
        due = started + seq / rate
        if (wait := due - time.time()) > 0:
            time.sleep(wait)
        broadcast(
            [
                schema.envelope(
                    schema.EventType.RUN_PROGRESS,
                    brandspace_id=space_id,
                    payload={
                        "seq": seq,
                        "sent": time.time(),
                        "stage": "acquiring",
                        "done": seq,
                        "total": events,
                    },
                )
            ]
        )
    sys.stdout.write(json.dumps({"first_sent": started, "last_sent": time.time()}) + "\n")


# ---------------------------------------------------------------- orchestration


def _database_url(db: dict) -> str:
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    if str(host).startswith("/"):
        host, port = quote(host, safe=""), ""
    return f"postgres://{db['USER']}@{host}{':' if port else ''}{port}/{db['NAME']}"


def _tenant(clients: int) -> tuple[int, list[str]]:
    """One organization, one brandspace, `clients` members with a token each (reused)."""
    from rest_framework.authtoken.models import Token

    from brands.models import Brand, Brandspace, Membership, Organization, User

    org, _ = Organization.objects.get_or_create(name="ws-fanout bench")
    brand, _ = Brand.objects.get_or_create(slug="ws-fanout-bench", defaults={"name": "WS Fanout Bench"})
    space, _ = Brandspace.objects.get_or_create(
        organization=org, name="fan-out", defaults={"primary_brand": brand}
    )
    have = User.objects.filter(email__startswith="ws-bench-").count()
    if have < clients:
        users = User.objects.bulk_create(
            [User(email=f"ws-bench-{i}@bench.example", password="!") for i in range(have, clients)]
        )
        Membership.objects.bulk_create([Membership(user=u, organization=org) for u in users])
        Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users])
    tokens = list(
        Token.objects.filter(user__email__startswith="ws-bench-")
        .order_by("user_id")
        .values_list("key", flat=True)
    )
    return space.pk, tokens[:clients]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")
    )


# The production command line (adology/asgi_server.py) with a port of ours, and daphne's.
SERVER_COMMANDS = {
    "uvicorn": [
        "-m", "uvicorn", "adology.asgi:application", "--host", "127.0.0.1", "--port", "{port}",
        *UVICORN_OPTIONS, "--no-access-log", "--log-level", "warning",
    ],
    "daphne": ["-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", "-v", "0", "adology.asgi:application"],
}  # fmt: skip


def _start_server(server: str, env: dict, port: int, extra: list[str]) -> subprocess.Popen:
    from adology.embedded import port_is_open

    cmd = [sys.executable, *(a.format(port=port) for a in SERVER_COMMANDS[server]), *extra]
    process = subprocess.Popen(cmd, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while not port_is_open("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{server} did not start: {' '.join(cmd)}")
        time.sleep(0.05)
    return process


def _cpu_seconds(proc) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def run_one(
    kind: str,
    server: str,
    *,
    env: dict,
    space_id: int,
    tokens: list[str],
    events: int,
    rate: float,
    grace: float,
    extra: list[str],
):
    import psutil

    from adology.embedded import free_port

    port = free_port()
    env = {**env, "CHANNEL_LAYER_PREFIX": f"wsb{uuid.uuid4().hex[:6]}", "REALTIME_CHANNEL_LAYER": kind}
    process = _start_server(server, env, port, extra)
    url = f"ws://127.0.0.1:{port}/ws/"
    clients: list[subprocess.Popen] = []
    try:
        # One connection first so imports and the first DB connection are not counted per socket.
        asyncio.run(_one_connection(url, tokens[0]))
        time.sleep(0.5)
        proc = psutil.Process(process.pid)
        rss_before = proc.memory_info().rss
        cpu_connect = _cpu_seconds(proc)
        share = (len(tokens) + CLIENT_PROCESSES - 1) // CLIENT_PROCESSES
        connect_started = time.monotonic()
        for i in range(CLIENT_PROCESSES):
            chunk = tokens[i * share : (i + 1) * share]
            child = subprocess.Popen(
                [sys.executable, __file__, "--_clients", url, "--_expected", str(events)],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            child.stdin.write(json.dumps(chunk) + "\n")
            child.stdin.flush()
            clients.append(child)
        for child in clients:
            assert child.stdout.readline().strip() == "ready", "client process failed"
        connect_s = time.monotonic() - connect_started
        time.sleep(1.0)
        rss_after = proc.memory_info().rss
        cpu_before = _cpu_seconds(proc)
        cpu_connect = cpu_before - cpu_connect
        sender = subprocess.run(
            [
                sys.executable,
                __file__,
                "--_broadcast",
                str(space_id),
                "--events",
                str(events),
                "--rate",
                str(rate),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        sent = json.loads(sender.stdout.strip().splitlines()[-1])
        # Clients leave once they have every event; whatever is still missing after the grace
        # period is lost.
        deadline = time.monotonic() + grace
        for child in clients:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
        cpu_after = _cpu_seconds(proc)
        results = []
        for child in clients:
            if child.poll() is None:
                child.stdin.write("stop\n")
                child.stdin.flush()
            results.append(json.loads(child.stdout.read().strip().splitlines()[-1]))
            child.wait(timeout=60)
    finally:
        for child in [process, *clients]:
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
    latencies = [x for r in results for x in r["latencies"]]
    ended = collections.Counter(e for r in results for e in r["ended"])
    missing = [m for r in results for m in r["missing"] if m]
    missed_seqs = collections.Counter(s for m in missing for s in m)
    expected = events * len(tokens)
    last_received = max((r["last_received"] for r in results), default=sent["last_sent"])
    duration = max(last_received, sent["last_sent"]) - sent["first_sent"]
    ms = [x * 1000 for x in latencies]
    return {
        "layer": kind,
        "server": server,
        "clients": len(tokens),
        "events": events,
        "delivered": len(latencies),
        "lost": expected - len(latencies),
        "p50_ms": _percentile(ms, 50),
        "p99_ms": _percentile(ms, 99),
        "max_ms": max(ms, default=float("nan")),
        "msgs_per_s": len(latencies) / max(duration, 1e-9),
        "kib_per_conn": (rss_after - rss_before) / len(tokens) / 1024,
        "connect_s": connect_s,
        "connect_cpu_ms": cpu_connect / len(tokens) * 1000,
        "server_cpu_s": cpu_after - cpu_before,
        "cpu_us_per_msg": (cpu_after - cpu_before) / max(len(latencies), 1) * 1e6,
        "send_span_s": sent["last_sent"] - sent["first_sent"],
        "ended": dict(ended),
        "clients_missing": len(missing),
        "most_missed_seqs": missed_seqs.most_common(5),
        "out_of_order": sum(r["out_of_order"] for r in results),
    }


async def _one_connection(url: str, token: str) -> None:
    from websockets.asyncio.client import connect

    async with connect(f"{url}?token={token}") as ws:
        await ws.recv()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="events broadcast per second (10)")
    parser.add_argument("--layers", default="core,pubsub")
    parser.add_argument("--servers", default="uvicorn", help="uvicorn and/or daphne, comma-separated")
    parser.add_argument(
        "--grace", type=float, default=20.0, help="seconds after the last send before a miss counts as lost"
    )
    parser.add_argument(
        "--server-args", default="", help="extra server command-line arguments, e.g. '--loop asyncio'"
    )
    parser.add_argument("--_clients", help=argparse.SUPPRESS)
    parser.add_argument("--_expected", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--_broadcast", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    # `timeout` and Ctrl-C: unwind, so the finally blocks stop the server and clients.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    if args._clients:
        tokens = json.loads(sys.stdin.readline())
        asyncio.run(_clients_main(args._clients, tokens, args._expected))
        return 0
    if args._broadcast:
        _broadcast_main(args._broadcast, args.events, args.rate)
        return 0

    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = DB_NAME
    common.ensure_database(settings.DATABASES["default"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    space_id, tokens = _tenant(args.clients)
    env = {**os.environ, "DATABASE_URL": _database_url(settings.DATABASES["default"]), "LOG_LEVEL": "WARNING"}
    env["REDIS_URL"] = settings.REDIS_URL
    connection.close()
    print(
        f"{len(tokens)} clients, {args.events} events at {args.rate:g}/s, cores: {os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.2f}, Redis {settings.REDIS_URL}"
    )
    header = f"{'server':8} {'layer':7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'msgs/s':>9} "
    header += f"{'lost':>6} {'KiB/conn':>9} {'connect s':>9} {'cpu us/msg':>10}  goal"
    print(header)
    ok = True
    for server in args.servers.split(","):
        for kind in args.layers.split(","):
            r = run_one(
                kind,
                server,
                env=env,
                space_id=space_id,
                tokens=tokens,
                events=args.events,
                rate=args.rate,
                grace=args.grace,
                extra=args.server_args.split(),
            )
            passed = r["lost"] == 0 and r["p99_ms"] <= 250
            ok &= passed
            print(
                f"{server:8} {kind:7} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} {r['max_ms']:8.1f} "
                f"{r['msgs_per_s']:9.0f} {r['lost']:6d} {r['kib_per_conn']:9.1f} {r['connect_s']:9.1f} "
                f"{r['cpu_us_per_msg']:10.0f}  {'PASS' if passed else 'MISS'}",
                flush=True,
            )
            # Where the losses and the time went: how sockets ended, which events were missed.
            print(
                f"    sent over {r['send_span_s']:.1f} s; server CPU {r['server_cpu_s']:.1f} s sending, "
                f"{r['connect_cpu_ms']:.1f} ms per handshake; sockets ended: {r['ended']}; "
                f"{r['clients_missing']} clients missed events, most missed (seq, clients): "
                f"{r['most_missed_seqs']}; out of order: {r['out_of_order']}",
                flush=True,
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
