"""What the ingestion benchmark watches from outside the workers, without touching their code.

- `BrokerMessages`: Redis MONITOR on one database: the exact bytes of every message pushed
  to a queue (LPUSH/RPUSH), of every result stored (SET/SETEX/RPUSH to a chord's `.j` list)
  and of every event or reply published. MONITOR repeats each command a client sends, so
  nothing a worker or the client publishes escapes it.
- `TreeSampler`: the peak RSS of a process and its children (the worker and its pool), and
  their peak PSS (pages shared after fork counted once).
- `cpu_seconds`: CPU time used by each process that takes part, to show where the cores went.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field

import psutil

_LINE = re.compile(rb"^\+(?P<ts>[\d.]+) \[(?P<db>\d+) (?P<client>[^\]]+)\] (?P<rest>.*)$")
_ARG = re.compile(rb'"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})|\\(.)")
_SIMPLE = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b"}


def _unescape(arg: bytes) -> bytes:
    """Redis MONITOR quotes arguments like sdscatrepr: \\xHH, \\n, \\r, \\t, \\a, \\b, \\", \\\\."""

    def one(match: re.Match) -> bytes:
        if match[1] is not None:
            return bytes([int(match[1], 16)])
        return _SIMPLE.get(match[2], match[2])

    return _ESCAPE.sub(one, arg)


@dataclass
class Largest:
    size: int = 0
    what: str = ""
    payload: bytes = b""
    count: int = 0


@dataclass
class BrokerMessages:
    """Redis MONITOR on `db`, in a thread, from `start()` to `stop()`."""

    host: str
    port: int
    db: int
    queues: tuple[str, ...]
    kinds: dict[str, Largest] = field(default_factory=dict)
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None

    def start(self) -> BrokerMessages:
        self._sock = socket.create_connection((self.host, self.port))
        self._sock.sendall(b"MONITOR\r\n")
        self._file = self._sock.makefile("rb")
        if not self._file.readline().startswith(b"+OK"):
            raise RuntimeError("Redis refused MONITOR")
        self._thread = threading.Thread(target=self._read, name="redis-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _read(self) -> None:
        try:
            for line in self._file:
                self._one(line.rstrip(b"\r\n"))
        except (OSError, ValueError):
            pass  # stop() closed the socket

    def _record(self, kind: str, what: str, payload: bytes) -> None:
        largest = self.kinds.setdefault(kind, Largest())
        largest.count += 1
        if len(payload) > largest.size:
            largest.size, largest.what, largest.payload = len(payload), what, payload

    def _one(self, line: bytes) -> None:
        match = _LINE.match(line)
        if not match or int(match["db"]) != self.db:
            return
        args = _ARG.findall(match["rest"])
        if not args:
            return
        command = args[0].upper().decode(errors="replace")
        if command in ("LPUSH", "RPUSH") and len(args) >= 3:
            key = _unescape(args[1]).decode(errors="replace")
            # kombu names priority lists "<queue>\x06\x16<n>"
            queue = key.split("\x06\x16")[0]
            for value in args[2:]:
                payload = _unescape(value)
                if queue in self.queues:
                    self._record("task message", f"{command} {queue}", payload)
                elif key.endswith(".j"):
                    self._record("chord part result", f"{command} {key[:40]}", payload)
                else:
                    self._record(f"other list ({key[:30]})", command, payload)
        elif command in ("SET", "SETEX", "PSETEX") and len(args) >= 3:
            key = _unescape(args[1]).decode(errors="replace")
            value = args[3] if command in ("SETEX", "PSETEX") else args[2]
            kind = "task result" if key.startswith("celery-task-meta-") else f"other value ({key[:30]})"
            self._record(kind, f"{command} {key[:60]}", _unescape(value))
        elif command == "PUBLISH" and len(args) >= 3:
            channel = _unescape(args[1]).decode(errors="replace")
            if channel.startswith("celery-task-meta-"):
                kind = "task result (pub/sub)"
            elif "celeryev" in channel:
                kind = "worker event"
            else:
                kind = f"published ({channel[:30]})"
            self._record(kind, f"PUBLISH {channel[:60]}", _unescape(args[2]))
        elif command == "HSET" and len(args) >= 4 and _unescape(args[1]) == b"unacked":
            self._record("unacked copy", "HSET unacked", _unescape(args[3]))


def describe_result(payload: bytes) -> str:
    """What a stored task result holds: its status, result and children (subtask ids)."""
    try:
        meta = json.loads(payload)
    except ValueError:
        return "(not JSON)"
    children = meta.get("children") or []
    return (
        f"status {meta.get('status')}, result {len(json.dumps(meta.get('result')))} B, "
        f"{_count_ids(children)} child task ids ({len(json.dumps(children))} B)"
    )


def _count_ids(tree) -> int:
    """Task ids in Celery's nested result tuples ([[id, parent], children] and groups)."""
    if isinstance(tree, str):
        return 1 if len(tree) == 36 and tree.count("-") == 4 else 0
    if isinstance(tree, list):
        return sum(_count_ids(item) for item in tree)
    return 0


def describe_task_message(payload: bytes) -> str:
    """Task name and argument sizes of a kombu envelope (JSON, body base64-encoded)."""
    try:
        envelope = json.loads(payload)
        headers = envelope.get("headers") or {}
        body = envelope.get("body", "")
        if (envelope.get("properties") or {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, kwargs, embed = json.loads(body)
    except (ValueError, TypeError):
        return "(not a task message)"
    chord = (embed or {}).get("chord")
    parts = [
        f"task {headers.get('task')}",
        f"args {len(json.dumps(args))} B",
        f"body {len(body)} B (base64 {len(envelope.get('body', ''))} B)",
        f"headers {len(json.dumps(headers))} B",
    ]
    if chord:
        parts.append(f"chord body signature {len(json.dumps(chord))} B")
    return ", ".join(parts)


class TreeSampler:
    """Peak RSS of a process tree, sampled every `interval` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_total = 0
        self.peak_process = 0
        self.peak_processes = 0
        self.peak_pss = 0  # proportional set size: shared pages counted once over the tree
        self._samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def start(self) -> TreeSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def sample(self) -> int:
        """One sample now; returns the tree's total RSS (0 once the process is gone)."""
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for proc in procs:
            try:
                rss = proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue
            total += rss
            self.peak_process = max(self.peak_process, rss)
        self.peak_total = max(self.peak_total, total)
        self.peak_processes = max(self.peak_processes, len(procs))
        if self._samples % 5 == 0:  # smaps of a big process is slow to read: PSS every 5th sample
            pss = 0
            for proc in procs:
                try:
                    pss += proc.memory_full_info().pss
                except (psutil.NoSuchProcess, psutil.AccessDenied, AttributeError):
                    continue
            self.peak_pss = max(self.peak_pss, pss)
        self._samples += 1
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)


def tree_cpu(pid: int) -> float:
    """User + system CPU seconds of a process, its living descendants and its reaped children
    (PostgreSQL backends come and go with connections; their time lands in the postmaster's
    children_* counters when they exit)."""
    try:
        root = psutil.Process(pid)
        procs = root.children(recursive=True)
        own = root.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    total = own.user + own.system + own.children_user + own.children_system
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


class BackendCpu:
    """CPU seconds of the PostgreSQL backends serving one database (the server is shared with
    other work, so its postmaster's totals would count that too). Backends come and go with
    connections: each is sampled every `interval` and its last reading kept after it exits."""

    def __init__(self, database: str, interval: float = 0.25):
        self.needle = f" {database} "
        self.interval = interval
        self.seen: dict[int, float] = {}
        self._procs: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-backends", daemon=True)
        self._thread.start()

    def total(self) -> float:
        return sum(self.seen.values())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            for proc in psutil.process_iter(["name", "cmdline"]):
                if (
                    proc.pid not in self._procs
                    and proc.info["name"] == "postgres"
                    and self.needle in " ".join(proc.info["cmdline"] or []) + " "
                ):
                    self._procs[proc.pid] = proc
            for pid, proc in list(self._procs.items()):
                try:
                    times = proc.cpu_times()
                    self.seen[pid] = times.user + times.system
                except psutil.NoSuchProcess:
                    del self._procs[pid]
            self._stop.wait(self.interval)


def listener(port: int) -> int | None:
    """The pid listening on 127.0.0.1:`port` (or any address), when this user may see it."""
    for conn in psutil.net_connections("tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return conn.pid
    return None


def own_cpu(pid: int) -> float:
    """User + system CPU seconds of one process alone (the benchmark, whose children are the
    services and workers, counted on their own)."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system


def cpu_seconds(groups: dict[str, list[int]], *, alone: frozenset[str] = frozenset()) -> dict[str, float]:
    """CPU seconds so far of each group of process trees (of single processes for `alone`)."""
    return {
        label: sum((own_cpu if label in alone else tree_cpu)(pid) for pid in pids)
        for label, pids in groups.items()
    }


def wait_until(predicate, *, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
