"""Benchmark: the ingestion pipeline, 1,000 ads with one ~200 KB image each, end to end.

    .venv/bin/python bench/ingest.py [--ads 1000] [--latency-ms 50] [--redis-runs 3] [--sqs-runs 1]

What runs, all on 127.0.0.1:
- bench/ingest_media.py in its own process: a Meta Ad Library (Graph API + snapshot pages)
  and a media host answering every image after `--latency-ms`;
- moto_server (S3, and SQS for the SQS broker), a SecantusDB Mongo-wire server (in memory),
  the PostgreSQL on 127.0.0.1:5432 with the database `adology_bench_ingest` (created and
  migrated here), Redis on 127.0.0.1:6379 db 9 (broker and result backend; flushed at start);
- one real `celery -A adology worker -Q gather,acquire,commit,ai` per broker (`--pool`,
  `--workers` pool size), with ACQUIRE_CONCURRENCY threads inside each acquire task.

Each measured run: a fresh brand with a meta identity for a fresh page (fresh image bytes,
so nothing is found already archived), an IngestionRun created directly, `ingestion.gather`
sent by a client Celery app configured by `celeryconfig.env_settings(env)`; the wall time is
from the send to the run's `finished_at`. A warm-up run of `--warmup-ads` ads comes first on
each worker (imports, first connections) and is not counted.

Also measured:
- the sequential baseline: `ingestion.media.acquire_media(url)` for fresh URLs of the same
  server, one after another in this process (download, sha256, S3 put, pHash, embedding). It
  stops after `--baseline-max-s` (default 60 s) and is extrapolated to `--ads` items (every
  item is the same work; the output says how many were measured);
- the ideal: items x latency / (pool processes x min(ACQUIRE_CONCURRENCY, ACQUIRE_BATCH_SIZE));
- worker peak memory: the worker process and its pool, sampled every 200 ms: the goal is judged
  on the tree's PSS (pages shared after fork counted once, as a container's memory limit sees
  them); the sum of RSS (an upper bound) and the largest single process are printed too;
- the largest broker message: Redis MONITOR on db 9 during the first measured Redis run sees
  the exact bytes of every message pushed to a queue, result stored and event published. The
  SQS figure is derived: kombu's SQS transport sends base64 of the same JSON envelope;
- CPU seconds per process group during each run (where the cores went), and the CPU used by
  other work on the machine meanwhile (it shares the cores).
Then a table with the goals, PASS/MISS, and a cProfile of one item's acquire work and of one
creative's AI-phase work (`--profile`; on by default when a goal is missed).

Time: Redis runs after the first are made only while the benchmark stays within `--budget-s`
(default 300 s). On 2 cores the current pipeline takes 2.5-4 minutes per 1,000-ad run, so a
default run does 1 Redis run + 1 SQS run and takes about 10 minutes; a pipeline that met its
goals would do all 3 Redis runs in well under 5.

`--worker-env NAME=VALUE` passes e.g. MALLOC_ARENA_MAX to the workers.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import logging
import os
import pstats
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

DB_NAME = "adology_bench_ingest"
PG_URL = "postgres://postgres@127.0.0.1:5432"
REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 9
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
WORKER_QUEUES = "gather,acquire,commit,ai"
CELERY_QUEUES = ("gather", "acquire", "commit", "ai", "default")
BIN = Path(sys.executable).parent

GOAL_SPEEDUP = 10.0
GOAL_IDEAL_RATIO = 1.5
GOAL_SQS_RATIO = 1.3
GOAL_RSS_MB = 300
GOAL_MESSAGE_KB = 64

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Ingestion pipeline benchmark (issue 3).")
    p.add_argument("--ads", type=int, default=1000)
    p.add_argument("--latency-ms", type=float, default=50)
    p.add_argument("--image-kb", type=int, default=200)
    p.add_argument("--redis-runs", type=int, default=3)
    p.add_argument("--sqs-runs", type=int, default=1)
    p.add_argument("--pool", choices=("prefork", "threads"), default="prefork")
    p.add_argument("--workers", type=int, default=2, help="worker pool size (-c)")
    p.add_argument("--acquire-concurrency", type=int, default=8, help="ACQUIRE_CONCURRENCY")
    p.add_argument("--batch-size", type=int, default=25, help="ACQUIRE_BATCH_SIZE")
    p.add_argument("--sqs-wait", type=int, default=20, help="SQS_WAIT_TIME_SECONDS (production: 20)")
    p.add_argument("--warmup-ads", type=int, default=50)
    p.add_argument("--baseline-items", type=int, default=None, help="default: --ads")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--profile", action="store_true", help="profile one item's work even if every goal passes")
    p.add_argument("--no-profile", action="store_true")
    p.add_argument("--worker-log-level", default="INFO")
    p.add_argument(
        "--budget-s",
        type=float,
        default=300,
        help="Redis runs after the first are skipped when they would take the benchmark past this",
    )
    p.add_argument(
        "--baseline-max-s",
        type=float,
        default=60,
        help="the sequential baseline stops after this long and is extrapolated to --ads items",
    )
    p.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra environment variable for the workers (e.g. MALLOC_ARENA_MAX=2); repeatable",
    )
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- processes


class Service:
    """A child process with its output in a log file, stopped at the end."""

    def __init__(self, name: str, argv: list[str], env=None):
        self.name = name
        self.log = Path(f"/tmp/bench-ingest-{name}-{os.getpid()}.log")
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=env or os.environ, cwd=ROOT
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.unlink(missing_ok=True)


def start_services(args) -> dict:
    from adology.embedded import free_port, port_is_open
    from bench.ingest_probes import wait_until

    services = {}
    moto_port, mongo_port, media_port = free_port(), free_port(), free_port()
    services["moto"] = Service("moto", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)])
    services["mongo"] = Service(
        "mongo",
        [
            str(BIN / "secantusd-py"),
            "--host",
            "127.0.0.1",
            "--port",
            str(mongo_port),
            "--storage-path",
            ":memory:",
            "--log-level",
            "WARNING",
        ],
    )
    services["media"] = Service(
        "media",
        [
            sys.executable,
            str(ROOT / "bench" / "ingest_media.py"),
            "--port",
            str(media_port),
            "--ads",
            str(args.ads),
            "--latency-ms",
            str(args.latency_ms),
            "--image-kb",
            str(args.image_kb),
        ],
    )
    for name, port in (("moto", moto_port), ("mongo", mongo_port), ("media", media_port)):
        service = services[name]
        up = wait_until(lambda p=port: port_is_open("127.0.0.1", p), timeout=60)
        if not up or service.process.poll() is not None:
            raise SystemExit(f"{name} did not start:\n{service.output()[-2000:]}")
    wait_until(lambda: "ready" in services["media"].output(), timeout=30)
    return {
        "services": services,
        "moto": f"http://127.0.0.1:{moto_port}",
        "mongo": f"mongodb://127.0.0.1:{mongo_port}/?directConnection=true",
        "media": f"http://127.0.0.1:{media_port}",
        "media_note": services["media"].output().strip(),
    }


def ensure_database() -> None:
    import psycopg2

    try:
        psycopg2.connect(dbname=DB_NAME, user="postgres", host="127.0.0.1", port=5432).close()
        return
    except psycopg2.OperationalError:
        pass
    conn = psycopg2.connect(dbname="postgres", user="postgres", host="127.0.0.1", port=5432)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{DB_NAME}"')
    conn.close()
    print(f"created database {DB_NAME}")


def quiet_logging(path: Path) -> None:
    """This process logs like a worker (same handlers and format) but into a file, not the table."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setStream(open(path, "a"))  # noqa: SIM115 (lives as long as the process)


# ----------------------------------------------------------------------------- runs


@dataclass
class RunResult:
    broker: str
    wall: float
    ads: int
    status: str
    acquired: int
    failed: int
    committed: int
    phases: dict[str, float]
    cpu: dict[str, float]
    busy_cores: float

    @property
    def rate(self) -> float:
        return self.ads / self.wall if self.wall else 0.0


@dataclass
class BrokerResult:
    broker: str
    runs: list[RunResult] = field(default_factory=list)
    peak_rss_total: int = 0
    peak_rss_process: int = 0
    processes: int = 0
    idle_rss: int = 0
    peak_pss: int = 0
    note: str = ""

    @property
    def median_wall(self) -> float:
        return statistics.median(r.wall for r in self.runs) if self.runs else float("nan")


_page_counter = iter(range(1, 10**6))
PG_BACKENDS = None  # BackendCpu for the benchmark's database, set by main()


def fresh_page(ads: int) -> str:
    """A page id no run used: the media server reads the ad count from its last 6 digits."""
    return f"{int(time.time()) % 10**8:08d}{next(_page_counter):03d}{ads:06d}"


def one_run(client, *, broker: str, ads: int, groups: dict[str, list[int]], timeout: float) -> RunResult:
    import psutil
    from django.utils import timezone

    from bench.ingest_probes import cpu_seconds
    from brands.models import Brand, BrandIdentity
    from ingestion.models import IngestionRun

    page = fresh_page(ads)
    brand = Brand.objects.create(name=f"Bench {broker} {page}", slug=f"bench-{broker}-{page}")
    BrandIdentity.objects.create(brand=brand, source="meta", external_id=page)
    run = IngestionRun.objects.create(brand=brand, source="meta")
    alone = frozenset({"bench (client)"})
    cpu_before, busy_before = cpu_seconds(groups, alone=alone), psutil.cpu_times()
    pg_before = PG_BACKENDS.total() if PG_BACKENDS else 0.0
    sent = timezone.now()
    client.send_task("ingestion.gather", args=[run.pk])
    deadline = time.monotonic() + timeout
    while True:
        run.refresh_from_db()
        if not run.is_active:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"run {run.pk} on {broker} still {run.status} after {timeout:.0f} s")
        time.sleep(0.05)
    time.sleep(0.2)  # one more sample of the database backends
    busy_after, cpu_after = psutil.cpu_times(), cpu_seconds(groups, alone=alone)
    if PG_BACKENDS:
        cpu_before["postgres (this db)"] = pg_before
        cpu_after["postgres (this db)"] = PG_BACKENDS.total()
    wall = (run.finished_at - sent).total_seconds()
    stamps = [
        ("pickup", sent, run.gathering_at),
        ("gather", run.gathering_at, run.acquiring_at),
        ("acquire", run.acquiring_at, run.committing_at),
        ("commit", run.committing_at, run.analyzing_at),
        ("ai", run.analyzing_at, run.finished_at),
    ]
    phases = {name: (b - a).total_seconds() for name, a, b in stamps if a and b}
    busy = (busy_after.user + busy_after.system) - (busy_before.user + busy_before.system)
    return RunResult(
        broker=broker,
        wall=wall,
        ads=ads,
        status=run.status,
        acquired=run.items_acquired,
        failed=run.items_failed,
        committed=run.creatives_committed,
        phases=phases,
        cpu={k: cpu_after[k] - cpu_before[k] for k in cpu_after},
        busy_cores=busy / wall if wall else 0.0,
    )


def broker_env(base: dict, broker: str, args) -> dict:
    env = {**base, "CELERY_RESULT_BACKEND": REDIS_URL}
    env.update(item.split("=", 1) for item in args.worker_env)
    if broker == "redis":
        env["CELERY_BROKER_URL"] = REDIS_URL
    else:
        env.update(
            {
                "CELERY_BROKER_URL": "sqs://",
                "SQS_QUEUE_PREFIX": f"bench{uuid.uuid4().hex[:6]}-",
                "SQS_WAIT_TIME_SECONDS": str(args.sqs_wait),
            }
        )
    return env


def run_broker(
    broker: str,
    base_env: dict,
    args,
    groups: dict,
    *,
    runs: int,
    started_at: float,
    reserve: float = 0.0,
    reserve_runs: int = 0,
) -> tuple[BrokerResult, object]:
    """Warm-up, then `runs` measured runs on one worker; runs after the first only while the
    benchmark stays within --budget-s, keeping `reserve` seconds and `reserve_runs` runs of
    about the same length for what comes after."""
    from celery import Celery

    import celeryconfig
    from bench.ingest_probes import BrokerMessages, TreeSampler
    from ingestion.queues import ensure_queues
    from tests.servers import CeleryWorker

    env = broker_env(base_env, broker, args)
    if broker == "sqs":
        ensure_queues(environ=env)
    client = Celery(f"bench-{broker}-client", set_as_current=False)
    client.config_from_object("celeryconfig")
    client.conf.update(celeryconfig.env_settings(env))
    extra = ("-l", args.worker_log_level)
    worker = CeleryWorker(
        env, queues=WORKER_QUEUES, pool=args.pool, concurrency=args.workers, extra_args=extra
    )
    result = BrokerResult(broker)
    monitor = None
    try:
        worker.wait_ready(timeout=90)
        groups = {**groups, "worker": [worker.process.pid]}
        timeout = max(120.0, args.ads * 0.5)
        result.idle_rss = TreeSampler(worker.process.pid).sample()
        sampler = TreeSampler(worker.process.pid).start()
        warm = one_run(client, broker=broker, ads=args.warmup_ads, groups=groups, timeout=timeout)
        print(
            f"  {broker}: warm-up run of {args.warmup_ads} ads {warm.wall:.2f} s ({warm.status})", flush=True
        )
        for n in range(runs):
            elapsed = time.monotonic() - started_at
            if n and elapsed + result.median_wall * (1 + reserve_runs) + reserve > args.budget_s:
                result.note = (
                    f"{runs - n} more run(s) skipped: they would take the benchmark past "
                    f"--budget-s {args.budget_s:g} s"
                )
                print(f"  {broker}: {result.note}", flush=True)
                break
            # Message sizes do not change from run to run: MONITOR (which costs this process
            # some CPU) watches the first measured run only.
            if broker == "redis" and n == 0:
                monitor = BrokerMessages(REDIS_HOST, REDIS_PORT, REDIS_DB, CELERY_QUEUES).start()
            r = one_run(client, broker=broker, ads=args.ads, groups=groups, timeout=timeout)
            if monitor is not None:
                monitor.stop()
            result.runs.append(r)
            print(
                f"  {broker} run {n + 1}: {r.wall:.2f} s, {r.rate:.1f} creatives/s, {r.status}, "
                + ", ".join(f"{k} {v:.2f}" for k, v in r.phases.items()),
                flush=True,
            )
        sampler.stop()
        result.peak_rss_total, result.peak_rss_process = sampler.peak_total, sampler.peak_process
        result.processes = sampler.peak_processes
        result.peak_pss = sampler.peak_pss
    except BaseException:
        print(f"--- worker log tail ({broker}) ---\n{worker.output[-4000:]}", file=sys.stderr)
        raise
    finally:
        if monitor is not None:
            monitor.stop()
        worker.stop(timeout=30)
        worker.cleanup()
        client.close()
    return result, monitor


def sequential_baseline(media_url: str, items: int, *, max_s: float) -> tuple[float, int]:
    """(seconds, items done): `acquire_media` one URL after another, stopping after `max_s`."""
    from ingestion.media import acquire_media

    page = fresh_page(items)
    urls = [f"{media_url}/media/{page}/{n}.jpg" for n in range(items)]
    started = time.perf_counter()
    done = 0
    for url in urls:
        acquire_media(url)
        done += 1
        if time.perf_counter() - started > max_s:
            break
    return time.perf_counter() - started, done


def _profile_table(profiler: cProfile.Profile, count: int, wanted: list[tuple[str, str, str]]) -> str:
    """Cumulative ms per item of the functions named in `wanted` (name, file part, label)."""
    stats = pstats.Stats(profiler)
    rows: dict[str, float] = {}
    for (filename, _, name), (_, _, _, cumtime, _) in stats.stats.items():
        for fn, part, label in wanted:
            if name == fn and part in filename:
                rows[label] = max(rows.get(label, 0.0), cumtime)
    lines = []
    for _, _, label in wanted:
        if label in rows:
            lines.append(f"    {label:<52} {rows[label] / count * 1000:7.1f} ms")
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(10)
    body = text.getvalue()
    lines.append("    top functions by own time (all items):")
    lines += ["      " + line for line in body[body.find("   ncalls") :].strip().splitlines()]
    return "\n".join(lines)


ACQUIRE_PARTS = [
    ("acquire_media", "ingestion/media.py", "acquire_media (all)"),
    ("_download", "ingestion/media.py", "  download (HTTP incl. latency, sha256)"),
    ("_http_client", "ingestion/media.py", "    of which building httpx.Client() for the URL"),
    ("load_verify_locations", "", "      of which loading CA certificates"),
    ("load", "ImageFile.py", "  JPEG decode (Image.load)"),
    ("_describe_image", "ingestion/media.py", "  pHash + embedding"),
    ("phash", "imagehash", "    of which imagehash.phash"),
    ("image_embedding", "providers.py", "    of which the embedding"),
    ("_store", "ingestion/media.py", "  S3 exists + put"),
    ("exists", "storages", "    of which exists (HEAD)"),
    ("save", "storage", "    of which save (PUT)"),
]
AI_PARTS = [
    ("analyze", "providers.py", "analyze (text rules; image features were made at acquire)"),
]


def profile_items(media_url: str, items: int = 60) -> str:
    """cProfile of `acquire_media` for `items` fresh URLs: where one item's time goes."""
    from ingestion.media import acquire_media

    page = fresh_page(items)
    urls = [f"{media_url}/media/{page}/{n}.jpg" for n in range(items)]
    acquire_media(urls[0])
    profiler = cProfile.Profile()
    started, cpu = time.perf_counter(), time.process_time()
    profiler.enable()
    for url in urls[1:]:
        acquire_media(url)
    profiler.disable()
    n = items - 1
    wall_ms = (time.perf_counter() - started) / n * 1000
    cpu_ms = (time.process_time() - cpu) / n * 1000
    head = f"  acquire, per item, sequential, under cProfile: {wall_ms:.1f} ms wall, {cpu_ms:.1f} ms CPU here"
    return head + "\n" + _profile_table(profiler, n, ACQUIRE_PARTS)


def profile_ai(items: int = 60) -> str:
    """cProfile of the AI phase's per-creative work (`analyze` on the text and the image
    features stored at acquire), read-only, on creatives the benchmark's runs committed."""
    from brands.models import Creative
    from intelligence.providers import provider

    ai = provider()
    creatives = list(
        Creative.objects.filter(brand__slug__startswith="bench-")
        .order_by("-id")
        .prefetch_related("media")[: items + 1]
    )
    if len(creatives) < 2:
        return "  (no committed creatives to profile)"

    def analyze(creative):
        media = next(iter(creative.media.all()), None)
        text = f"{creative.title}\n{creative.body}".strip()
        return ai.analyze(text=text, image_features=media.features if media else None)

    analyze(creatives[0])
    profiler = cProfile.Profile()
    started, cpu = time.perf_counter(), time.process_time()
    profiler.enable()
    for creative in creatives[1:]:
        analyze(creative)
    profiler.disable()
    n = len(creatives) - 1
    wall_ms = (time.perf_counter() - started) / n * 1000
    cpu_ms = (time.process_time() - cpu) / n * 1000
    head = f"  ai phase, per creative, under cProfile: {wall_ms:.1f} ms wall, {cpu_ms:.1f} ms CPU here"
    return head + "\n" + _profile_table(profiler, n, AI_PARTS)


# ----------------------------------------------------------------------------- report


def mb(n: int) -> float:
    return n / 1024 / 1024


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv=None) -> int:
    args = parse_args(argv)
    started_at = time.monotonic()
    os.environ.update(FAKE_AWS)
    print(
        f"bench/ingest.py: {args.ads} ads x 1 image of ~{args.image_kb} KB, media latency "
        f"{args.latency_ms:g} ms; cores: {os.cpu_count()}; load average {common.load_average()}",
        flush=True,
    )
    world = start_services(args)
    bucket = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    base_env = {
        **os.environ,
        **FAKE_AWS,
        "DJANGO_SETTINGS_MODULE": "adology.settings.test",
        "DATABASE_URL": f"{PG_URL}/{DB_NAME}",
        "REDIS_URL": REDIS_URL,
        "MONGO_URL": world["mongo"],
        "AWS_ENDPOINT_URL": world["moto"],
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "META_GRAPH_URL": world["media"],
        "META_ACCESS_TOKEN": "bench-meta-token",
        "ACQUIRE_BATCH_SIZE": str(args.batch_size),
        "ACQUIRE_CONCURRENCY": str(args.acquire_concurrency),
        "COMMIT_RECHECK_SECONDS": "1",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    base_env.pop("CELERY_BROKER_URL", None)
    base_env.pop("CELERY_EVENTS_URL", None)
    os.environ.update(base_env)
    services = world["services"]
    try:
        import boto3
        import django
        import redis

        ensure_database()
        django.setup()
        quiet_logging(Path(f"/tmp/bench-ingest-app-{os.getpid()}.log"))
        from django.core.management import call_command

        from bench.ingest_probes import BackendCpu, describe_result, describe_task_message, listener

        call_command("migrate", interactive=False, verbosity=0)
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB).flushdb()
        boto3.client("s3", endpoint_url=world["moto"], region_name="us-east-1").create_bucket(Bucket=bucket)
        print(f"media server: {world['media_note']}", flush=True)

        groups = {
            "media server": [services["media"].pid],
            "moto (S3/SQS)": [services["moto"].pid],
            "mongo wire": [services["mongo"].pid],
            "bench (client)": [os.getpid()],
        }
        redis_pid = listener(REDIS_PORT)
        if redis_pid:
            groups["redis (whole server)"] = [redis_pid]
        global PG_BACKENDS
        PG_BACKENDS = BackendCpu(DB_NAME)

        threads = min(args.acquire_concurrency, args.batch_size)
        concurrency = args.workers * threads
        ideal = args.ads * args.latency_ms / 1000 / concurrency
        print(
            f"workers: 1 x `celery worker --pool {args.pool} -c {args.workers} -Q {WORKER_QUEUES}`; "
            f"ACQUIRE_BATCH_SIZE={args.batch_size}, ACQUIRE_CONCURRENCY={args.acquire_concurrency} "
            f"-> effective download concurrency {args.workers} x {threads} = {concurrency}",
            flush=True,
        )

        baseline_items = args.baseline_items or args.ads
        # Kept for what follows the Redis runs: the SQS runs (about as long), the baseline.
        reserve = 30 + (0 if args.no_baseline else args.baseline_max_s)
        redis_result, monitor = run_broker(
            "redis",
            base_env,
            args,
            groups,
            runs=args.redis_runs,
            started_at=started_at,
            reserve=reserve,
            reserve_runs=args.sqs_runs,
        )
        sqs_result = None
        if args.sqs_runs:
            sqs_result, _ = run_broker(
                "sqs",
                base_env,
                args,
                groups,
                runs=args.sqs_runs,
                started_at=started_at,
                reserve=reserve - 30,
            )

        baseline = None
        baseline_done = 0
        if not args.no_baseline:
            print(
                f"  sequential baseline: acquire_media(url) for up to {baseline_items} URLs "
                f"(at most {args.baseline_max_s:g} s) ...",
                flush=True,
            )
            seconds, baseline_done = sequential_baseline(
                world["media"], baseline_items, max_s=args.baseline_max_s
            )
            baseline = seconds * args.ads / baseline_done

        # ------------------------------------------------------------------ the table
        redis_wall = redis_result.median_wall
        sqs_wall = sqs_result.median_wall if sqs_result else float("nan")
        redis_acquire = statistics.median(r.phases.get("acquire", 0) for r in redis_result.runs)
        print()
        print("=" * 100)
        print(
            f"RESULTS  {args.ads} ads, {args.latency_ms:g} ms media latency, ~{args.image_kb} KB images, "
            f"{os.cpu_count()} cores, pool {args.pool} -c {args.workers}, batch {args.batch_size}, "
            f"threads/task {args.acquire_concurrency}"
        )
        print("=" * 100)
        print(f"{'':34}{'wall s':>9}{'creatives/s':>13}   runs")
        for res in (redis_result, sqs_result):
            if res is None:
                continue
            walls = ", ".join(f"{r.wall:.2f}" for r in res.runs)
            label = f"{res.broker} broker (median)"
            print(f"{label:34}{res.median_wall:9.2f}{args.ads / res.median_wall:13.1f}   {walls}")
            if res.note:
                print(f"{'':34}({res.note})")
        if baseline is not None:
            extrapolated = (
                ""
                if baseline_done == args.ads
                else f"   extrapolated from {baseline_done} items measured in "
                f"{baseline * baseline_done / args.ads:.1f} s"
            )
            print(f"{'sequential baseline':34}{baseline:9.2f}{args.ads / baseline:13.1f}{extrapolated}")
        print(
            f"{'ideal (items x latency / conc.)':34}{ideal:9.2f}{args.ads / ideal:13.1f}   "
            f"{args.ads} x {args.latency_ms:g} ms / {concurrency}"
        )
        print()
        print(
            "phases (median s):  "
            + "  ".join(f"{p:>8}" for p in ("pickup", "gather", "acquire", "commit", "ai"))
        )
        for res in (redis_result, sqs_result):
            if res is None:
                continue
            cells = []
            for phase in ("pickup", "gather", "acquire", "commit", "ai"):
                cells.append(f"{statistics.median(r.phases.get(phase, 0) for r in res.runs):8.2f}")
            print(f"  {res.broker:<17}" + "  ".join(cells))
        print()
        print("CPU seconds per run (median) and busy cores (of " + str(os.cpu_count()) + "):")
        for res in (redis_result, sqs_result):
            if res is None:
                continue
            labels = list(res.runs[0].cpu)
            cells = ", ".join(f"{k} {statistics.median(r.cpu[k] for r in res.runs):.1f}" for k in labels)
            busy = statistics.median(r.busy_cores for r in res.runs)
            total_cpu = statistics.median(sum(r.cpu.values()) for r in res.runs)
            others = statistics.median(r.busy_cores * r.wall - sum(r.cpu.values()) for r in res.runs)
            print(
                f"  {res.broker}: {cells}; listed total {total_cpu:.1f} s; machine busy {busy:.2f} cores; "
                f"CPU used by other work on the machine ~{max(0.0, others):.0f} s"
            )
            worker_cpu = statistics.median(r.cpu.get("worker", 0.0) for r in res.runs)
            cores = os.cpu_count() or 1
            print(
                f"    per creative: worker {worker_cpu / args.ads * 1000:.0f} ms CPU, all listed "
                f"{total_cpu / args.ads * 1000:.0f} ms -> at least {total_cpu / cores:.1f} s "
                f"on {cores} cores; "
                f"{GOAL_IDEAL_RATIO:g}x ideal ({GOAL_IDEAL_RATIO * ideal:.1f} s) would need "
                f"{total_cpu / (GOAL_IDEAL_RATIO * ideal):.0f} cores at this CPU cost"
            )
        for res in (redis_result, sqs_result):
            if res is None:
                continue
            bad = [r for r in res.runs if r.status != "succeeded" or r.committed != args.ads]
            for r in bad:
                print(
                    f"  WARNING {res.broker}: run ended {r.status}, acquired {r.acquired}, "
                    f"failed {r.failed}, committed {r.committed} of {args.ads}"
                )
        print()
        print("largest messages on the Redis broker (db 9, Redis MONITOR, exact bytes):")
        largest_task = None
        if monitor is not None:
            for kind, largest in sorted(monitor.kinds.items(), key=lambda kv: -kv[1].size):
                print(f"  {kind:<28}{largest.size:>9,} B  max of {largest.count:>5}  ({largest.what})")
            largest_result = monitor.kinds.get("task result")
            if largest_result:
                print(f"  largest task result: {describe_result(largest_result.payload)}")
            largest_task = monitor.kinds.get("task message")
            if largest_task:
                print(f"  largest task message: {describe_task_message(largest_task.payload)}")
        sqs_size = len(base64.b64encode(largest_task.payload)) if largest_task else 0
        if largest_task:
            print(f"  on SQS the same envelope travels base64-encoded: {sqs_size:,} B (SQS limit 262,144 B)")
        broker_max = max(
            [k.size for name, k in (monitor.kinds.items() if monitor else []) if name != "worker event"]
            + [sqs_size]
        )

        measured = [res for res in (redis_result, sqs_result) if res]
        peak_pss = max(res.peak_pss for res in measured)
        peak_rss = max(res.peak_rss_total for res in measured)
        peak_one = max(res.peak_rss_process for res in measured)
        print()
        print("worker memory (the worker process and its pool, RSS sampled every 200 ms, PSS every 1 s):")
        for res in measured:
            print(
                f"  {res.broker}: peak PSS {mb(res.peak_pss):.0f} MB, "
                f"peak sum of RSS {mb(res.peak_rss_total):.0f} MB over {res.processes} processes, "
                f"largest single process RSS {mb(res.peak_rss_process):.0f} MB; "
                f"sum of RSS idle after start {mb(res.idle_rss):.0f} MB"
            )
        print()
        print("GOALS")
        rows = []
        if baseline is not None:
            speed = baseline / redis_wall
            rows.append(
                (
                    f">= {GOAL_SPEEDUP:g}x the sequential baseline (Redis)",
                    f"{speed:.1f}x ({baseline:.1f} s / {redis_wall:.2f} s)",
                    speed >= GOAL_SPEEDUP,
                )
            )
            if sqs_result:
                speed_sqs = baseline / sqs_wall
                rows.append(
                    (
                        f">= {GOAL_SPEEDUP:g}x the sequential baseline (SQS)",
                        f"{speed_sqs:.1f}x ({baseline:.1f} s / {sqs_wall:.2f} s)",
                        speed_sqs >= GOAL_SPEEDUP,
                    )
                )
        rows.append(
            (
                f"Redis end to end <= {GOAL_IDEAL_RATIO:g}x ideal",
                f"{redis_wall / ideal:.2f}x ({redis_wall:.2f} s / {ideal:.2f} s)",
                redis_wall <= GOAL_IDEAL_RATIO * ideal,
            )
        )
        rows.append(
            (
                "  (info) Redis acquire phase vs ideal",
                f"{redis_acquire / ideal:.2f}x ({redis_acquire:.2f} s / {ideal:.2f} s)",
                None,
            )
        )
        if sqs_result:
            rows.append(
                (
                    f"SQS <= {GOAL_SQS_RATIO:g}x Redis",
                    f"{sqs_wall / redis_wall:.2f}x ({sqs_wall:.2f} s / {redis_wall:.2f} s)",
                    sqs_wall <= GOAL_SQS_RATIO * redis_wall,
                )
            )
        rows.append(
            (
                f"worker peak RSS < {GOAL_RSS_MB} MB (tree, PSS)",
                f"{mb(peak_pss):.0f} MB (sum of RSS {mb(peak_rss):.0f}, one process {mb(peak_one):.0f})",
                mb(peak_pss) < GOAL_RSS_MB,
            )
        )
        rows.append(
            (
                f"largest broker message < {GOAL_MESSAGE_KB} KB",
                f"{broker_max / 1024:.1f} KB",
                broker_max < GOAL_MESSAGE_KB * 1024,
            )
        )
        for goal, value, ok in rows:
            print(f"  {goal:<46}{value:<42}{'' if ok is None else verdict(ok)}")
        missed = any(ok is False for _, _, ok in rows)

        if (missed or args.profile) and not args.no_profile:
            print()
            print("PROFILE (in this process; cProfile adds overhead, compare the parts with each other):")
            print(profile_items(world["media"]))
            print(profile_ai())
        print()
        print(
            f"total benchmark time {time.monotonic() - started_at:.0f} s; "
            f"load average at the end {common.load_average()} "
            "(other work on this machine competes for the same cores)"
        )
        return 0
    finally:
        for service in services.values():
            service.stop()


if __name__ == "__main__":
    sys.exit(main())
