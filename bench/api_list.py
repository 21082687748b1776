"""Benchmark: the creatives list API on 100,000 creatives, through a live server.

    .venv/bin/python bench/api_list.py [--requests 200] [--reload] [--investigate] [--strict]

1. Creates (once) the database `adology_bench` on the PostgreSQL server the test settings
   pick, migrates it, and loads 100,000 creatives over 50 brands with their media (COPY).
   A re-run reuses the data when the row counts are right.
2. Counts SQL queries per API page in-process and checks that the baseline page is the
   same page as the API's.
3. Starts gunicorn (2 workers x 2 threads, DEBUG off) on a free 127.0.0.1 port and times,
   over one keep-alive connection, 200 sequential requests of each variant, API and
   baseline interleaved:
     - page 1 of `?brandspace=ID` (newest first): the goal is measured here;
     - page 1 of `?brandspace=ID&ordering=longest_running`;
     - 200 pages deep by following `next`.
   The baseline (bench/baseline.py) builds the same page from one query for the
   brandspace's brand roles, a plain `.values()` query and one query for media.
4. Prints p50/p95, the ratios, PASS/MISS against the goals (p95 <= 50 ms and <= 2x the
   baseline). When a goal is missed (or with --investigate) it also prints where the
   API's time goes in-process, stage by stage, EXPLAIN ANALYZE of the API's queries and a
   cProfile of the API.

Exit status: 0, or 1 with --strict when a goal is missed, or 2 when the baseline does not
answer the same page as the API (then the ratios mean nothing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Forced, not defaulted: whatever the shell says, a benchmark only ever touches its own database.
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

from bench import common  # noqa: E402

N_CREATIVES = 100_000
N_BRANDS = 50
PAGE_SIZE = 50
GOAL_P95_MS = 50.0
GOAL_RATIO = 2.0
WARMUP = 30

ORG_NAME = "Bench Org"
USER_EMAIL = "bench@adology.example"
BRANDSPACE_NAME = "Bench market"
# Brand numbers (1-based) of the brandspace: the primary, three competitors, two followed.
PRIMARY = 3
COMPETITORS = (11, 19, 27)
FOLLOWED = (35, 43)

WORDS = [
    "new",
    "summer",
    "sale",
    "shop",
    "now",
    "free",
    "shipping",
    "limited",
    "offer",
    "best",
    "quality",
    "fresh",
    "organic",
    "discover",
    "collection",
    "style",
    "comfort",
    "premium",
    "save",
    "today",
    "exclusive",
    "members",
    "deal",
    "classic",
    "modern",
    "everyday",
    "essentials",
    "gift",
    "perfect",
    "home",
    "kitchen",
    "outdoor",
    "sport",
    "travel",
    "family",
    "kids",
    "fast",
    "easy",
    "delivery",
    "order",
    "online",
    "store",
    "made",
    "with",
    "love",
    "natural",
    "clean",
    "beauty",
    "coffee",
    "tea",
]
CTAS = ("Shop now", "Learn more", "Sign up", "Download", "Get offer", "Book now", "")
META_PLATFORMS = ("facebook", "instagram", "messenger", "audience_network")
GOOGLE_PLATFORMS = ("youtube", "search", "display")
COUNTRIES = ("US", "GB", "DE", "FR", "CA", "AU", "NL", "ES")


# ---------------------------------------------------------------- database


def ensure_database() -> None:
    """Create `adology_bench` on the chosen server when it is missing (before Django connects)."""
    from django.conf import settings

    if common.ensure_database(settings.DATABASES["default"]):
        print(f"created database {settings.DATABASES['default']['NAME']}")


def _copy(table: str, columns: list[str], rows) -> None:
    from django.db import connection

    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(row))
        buffer.write("\n")
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def _text(value) -> str:
    """One value in COPY's text format (our generated text has no tabs, newlines or backslashes)."""
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, list | tuple):
        return "{" + ",".join(value) + "}"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _rows_in_column_order(model, rows: list[dict]):
    """COPY columns and rows; columns the generator does not fill take the field's default."""
    defaults = {}
    for field in model._meta.concrete_fields:
        if field.column in rows[0]:
            continue
        defaults[field.column] = None if field.null and not field.has_default() else field.get_default()
    columns = list(rows[0]) + list(defaults)
    fills = [_text(v) for v in defaults.values()]
    return columns, ([_text(v) for v in r.values()] + fills for r in rows)


def generate(now: dt.datetime, rng: random.Random):
    """Brands, creatives, media and links as dicts keyed by column, with explicit ids."""
    brands = [
        {
            "id": i,
            "name": f"Bench Brand {i:02d}",
            "slug": f"bench-brand-{i:02d}",
            "domains": [f"brand{i:02d}.example"],
            "created_at": now,
        }
        for i in range(1, N_BRANDS + 1)
    ]
    creatives, media, links = [], [], []
    today = now.date()
    media_id = 0
    for cid in range(1, N_CREATIVES + 1):
        brand_id = rng.randint(1, N_BRANDS)
        source = "meta" if rng.random() < 0.7 else "google"
        fmt = rng.choices(("image", "video", "carousel", "text"), weights=(45, 30, 15, 10))[0]
        first_seen = now - dt.timedelta(seconds=rng.uniform(0, 730 * 86400))
        started = first_seen.date() - dt.timedelta(days=rng.randint(0, 30))
        active = rng.random() < 0.4
        if active:
            stopped = None
            last_seen = max(first_seen, now - dt.timedelta(seconds=rng.uniform(0, 2 * 86400)))
            days = (today - started).days
        else:
            stopped = min(today, max(first_seen.date(), started + dt.timedelta(days=rng.randint(1, 180))))
            last_seen = max(first_seen, min(now, dt.datetime.combine(stopped, dt.time(12), tzinfo=dt.UTC)))
            days = (stopped - started).days
        pool = META_PLATFORMS if source == "meta" else GOOGLE_PLATFORMS
        creatives.append(
            {
                "id": cid,
                "brand_id": brand_id,
                "source": source,
                "source_ad_id": str(10**15 + cid),
                "format": fmt,
                "body": " ".join(rng.choices(WORDS, k=rng.randint(8, 40))).capitalize() + ".",
                "title": " ".join(rng.choices(WORDS, k=rng.randint(3, 8))).title(),
                "link_url": f"https://brand{brand_id:02d}.example/p/{cid}",
                "call_to_action": rng.choice(CTAS),
                "platforms": sorted(rng.sample(pool, rng.randint(1, len(pool)))),
                "countries": sorted(rng.sample(COUNTRIES, rng.randint(1, 3))),
                "first_seen_at": first_seen,
                "last_seen_at": last_seen,
                "started_running_on": started,
                "stopped_running_on": stopped,
                "is_active": active,
                "days_running": days,
            }
        )
        for position in range(2 if fmt == "carousel" else 1):
            media_id += 1
            sha = hashlib.sha256(b"bench-media-%d" % media_id).hexdigest()
            video = fmt == "video"
            media.append(
                {
                    "id": media_id,
                    "sha256": sha,
                    "storage_key": f"media/{sha[:2]}/{sha}.{'mp4' if video else 'jpg'}",
                    "mime_type": "video/mp4" if video else "image/jpeg",
                    "bytes": rng.randint(20_000, 20_000_000 if video else 900_000),
                    "width": 1080,
                    "height": rng.choice((1080, 1350, 1920)),
                    "duration_seconds": round(rng.uniform(5, 60), 1) if video else None,
                    "perceptual_hash": sha[:16],
                    "thumbnail_key": f"thumbs/{sha[:2]}/{sha}.jpg" if video else "",
                    "created_at": now,
                }
            )
            links.append({"id": media_id, "creative_id": cid, "media_id": media_id, "position": position})
    return brands, creatives, media, links


def load_data(*, force: bool) -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from brands.models import Brand, Creative, CreativeMedia, CreativeMediaLink

    assert connection.settings_dict["NAME"] == settings.BENCH_DATABASE_NAME, connection.settings_dict["NAME"]
    n_creatives, n_brands = Creative.objects.count(), Brand.objects.count()
    n_links = CreativeMediaLink.objects.count()
    if not force and n_creatives == N_CREATIVES and n_brands == N_BRANDS and n_links >= N_CREATIVES:
        print(
            f"data: reusing the loaded data ({n_creatives:,} creatives, {n_brands} brands, "
            f"{CreativeMedia.objects.count():,} media, {n_links:,} media links); --reload to rebuild"
        )
        return
    print(f"data: loading (found {n_creatives:,} creatives, {n_brands} brands) ...", flush=True)
    started = time.perf_counter()
    call_command("flush", interactive=False, verbosity=0)  # the bench database only (asserted above)
    brands, creatives, media, links = generate(dt.datetime.now(dt.UTC), random.Random(20261124))
    generated = time.perf_counter()
    for model, rows in (
        (Brand, brands),
        (CreativeMedia, media),
        (Creative, creatives),
        (CreativeMediaLink, links),
    ):
        columns, values = _rows_in_column_order(model, rows)
        _copy(model._meta.db_table, columns, values)
    with connection.cursor() as cursor:
        for model in (Brand, CreativeMedia, Creative, CreativeMediaLink):
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        for model in (Brand, CreativeMedia, Creative, CreativeMediaLink):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    print(
        f"data: loaded {len(creatives):,} creatives over {len(brands)} brands, {len(media):,} media, "
        f"{len(links):,} links in {time.perf_counter() - started:.1f} s "
        f"(generate {generated - started:.1f} s, "
        f"COPY + VACUUM ANALYZE {time.perf_counter() - generated:.1f} s)"
    )


def ensure_tenant() -> tuple[int, str, int]:
    """(brandspace id, token key, rows in the brandspace): one organization, its owner, a brandspace."""
    from rest_framework.authtoken.models import Token

    from brands.models import Brand, Brandspace, Creative, Membership, Organization, TrackedBrand, User

    org, _ = Organization.objects.get_or_create(name=ORG_NAME)
    user = User.objects.filter(email=USER_EMAIL).first() or User.objects.create_user(
        USER_EMAIL, "bench-password-not-secret"
    )
    Membership.objects.get_or_create(user=user, defaults={"organization": org, "role": "owner"})
    token, _ = Token.objects.get_or_create(user=user)
    by_number = {b.slug: b for b in Brand.objects.all()}

    def brand(n):
        return by_number[f"bench-brand-{n:02d}"]

    space, _ = Brandspace.objects.get_or_create(
        organization=org, name=BRANDSPACE_NAME, defaults={"primary_brand": brand(PRIMARY), "created_by": user}
    )
    for numbers, role in ((COMPETITORS, "competitor"), (FOLLOWED, "followed")):
        for n in numbers:
            TrackedBrand.objects.get_or_create(brandspace=space, brand=brand(n), defaults={"role": role})
    brand_ids = [brand(n).id for n in (PRIMARY, *COMPETITORS, *FOLLOWED)]
    return space.id, token.key, Creative.objects.filter(brand_id__in=brand_ids).count()


# ---------------------------------------------------------------- measuring


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (q in 0..100)."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(ms: list[float]) -> dict:
    return {
        "p50": statistics.median(ms),
        "p95": percentile(ms, 95),
        "min": min(ms),
        "max": max(ms),
        "n": len(ms),
    }


def in_process_checks(space_id: int, token: str, n: int) -> dict:
    """Query counts, same-page check, and in-process timings (no HTTP, no gunicorn)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench import baseline

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    api_url = f"/api/creatives/?brandspace={space_id}"
    base_url = f"/bench/baseline/creatives/?brandspace={space_id}"
    out: dict = {"queries": {}}
    client.get(api_url)  # first request: caches, connection
    for size in (10, 50, 200):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"{api_url}&page_size={size}")
        assert response.status_code == 200, response.content[:300]
        assert len(response.json()["results"]) == size
        out["queries"][f"api page_size={size}"] = len(ctx.captured_queries)
        if size == PAGE_SIZE:
            out["api_sql"] = [q["sql"] for q in ctx.captured_queries]
    with CaptureQueriesContext(connection) as ctx:
        client.get(f"{api_url}&ordering=longest_running")
    out["queries"]["api longest_running"] = len(ctx.captured_queries)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(base_url)
    out["queries"]["baseline"] = len(ctx.captured_queries)

    # Same page? Compare the API's and the baseline's results field by field.
    out["same_page"] = {}
    out["media_order_differs"] = 0
    for ordering in ("newest", "longest_running"):
        api = client.get(f"{api_url}&ordering={ordering}").json()["results"]
        base = client.get(f"{base_url}&ordering={ordering}").json()["results"]
        for a, b in zip(api, base, strict=True):
            if [m["sha256"] for m in a["media"]] != [m["sha256"] for m in b["media"]]:
                out["media_order_differs"] += 1
            a["media"].sort(key=lambda m: m["sha256"])
            b["media"].sort(key=lambda m: m["sha256"])
        same = api == base
        out["same_page"][ordering] = same
        if not same:
            for a, b in zip(api, base, strict=True):
                if a != b:
                    diff = {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}
                    print(f"  page differs ({ordering}) at id {a['id']}: {diff}")
                    break
    out["api_page_bytes"] = len(client.get(api_url).content)
    out["baseline_page_bytes"] = len(client.get(base_url).content)

    roles = baseline.brand_roles(space_id)
    timings = {"bare .values() query": [], "baseline page built (3 queries, no HTTP)": []}
    timings["API via test Client (no HTTP)"] = []
    for _ in range(10):  # warm
        baseline.page_rows(roles)
    for _ in range(n):
        t = time.perf_counter()
        baseline.page_rows(roles)
        timings["bare .values() query"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        baseline.build_page(space_id)
        timings["baseline page built (3 queries, no HTTP)"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        client.get(api_url)
        timings["API via test Client (no HTTP)"].append((time.perf_counter() - t) * 1000)
    out["in_process"] = {name: summary(ms) for name, ms in timings.items()}
    return out


def start_server(port: int) -> subprocess.Popen:
    import httpx

    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"adology-bench-gunicorn-{port}.log", "w")  # noqa: SIM115
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PYTHONPATH": str(ROOT),
        # WhiteNoise warns in every worker that there is no collectstatic output; the bench needs none.
        "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "adology.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        # gthread keeps connections alive (the sync worker closes each one).
        "--worker-class",
        "gthread",
        "--threads",
        "2",
        "--keep-alive",
        "60",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log_path = log.name  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}; see {log.name}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"gunicorn did not answer within 60 s; see {log.name}")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log = Path(process.log_path)  # type: ignore[attr-defined]
    if log.exists() and log.stat().st_size:
        print(f"gunicorn wrote to {log} (warnings or errors; have a look)")
    else:
        log.unlink(missing_ok=True)


def _get(client, url: str) -> tuple[float, dict]:
    t = time.perf_counter()
    response = client.get(url)
    body = response.content
    elapsed = (time.perf_counter() - t) * 1000
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}: {body[:300]!r}")
    return elapsed, json.loads(body)


def time_pages(client, endpoints: dict[str, str], n: int, *, follow_next: bool = False) -> dict:
    """n sequential GETs of each endpoint, the endpoints interleaved so drift and load hit all alike.

    With follow_next, each endpoint walks its own `next` links (back to page 1 when a list ends).
    Returns {name: [ms, ...]}, "_depth" (the deepest page the first endpoint reached), "_pages"
    ({name: [ids of each page]}) and "_last" ({name: the last URL requested}).
    """
    times: dict = {name: [] for name in endpoints}
    pages: dict = {name: [] for name in endpoints}
    current = dict(endpoints)
    last = dict(endpoints)
    depth = max_depth = 1
    for _ in range(n):
        for i, (name, first) in enumerate(endpoints.items()):
            last[name] = current[name]
            elapsed, body = _get(client, current[name])
            if not follow_next and len(body["results"]) != PAGE_SIZE:
                raise SystemExit(f"{current[name]} returned {len(body['results'])} rows, not {PAGE_SIZE}")
            times[name].append(elapsed)
            pages[name].append(tuple(row["id"] for row in body["results"]))
            if follow_next:
                current[name] = body["next"] or first
                if i == 0:
                    depth = depth + 1 if body["next"] else 1
                    max_depth = max(max_depth, depth)
    times["_depth"] = max_depth if follow_next else 1
    times["_pages"] = pages
    times["_last"] = last
    return times


def same_pages(times: dict) -> str:
    """Whether every endpoint answered the same rows as the first, request by request."""
    pages = times["_pages"]
    first, *others = pages
    lines = []
    for name in others:
        same = sum(a == b for a, b in zip(pages[first], pages[name], strict=True))
        lines.append(f"{name} {same}/{len(pages[first])}")
    return f"pages with the same rows as {first}: " + ", ".join(lines)


def warm_up(client, token: str, urls: list[str]) -> None:
    """Every worker and thread gets a few requests (fresh connections), then the measuring one."""
    import httpx

    for _ in range(8):
        with httpx.Client(headers={"Authorization": f"Token {token}"}, timeout=30) as fresh:
            for url in urls:
                fresh.get(url)
    for _ in range(WARMUP):
        for url in urls:
            _get(client, url)


# ---------------------------------------------------------------- investigating


def explain(sql_statements: list[str], *, header: bool = True) -> None:
    from django.db import connection

    if header:
        print("\n--- EXPLAIN (ANALYZE, BUFFERS) of the API page's queries (page 1) ---")
    with connection.cursor() as cursor:
        for sql in sql_statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            print(f"\n> {sql[:400]}{' ...' if len(sql) > 400 else ''}")
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            for (line,) in cursor.fetchall():
                print(f"  {line}")


def explain_deep(url: str, token: str, depth: int) -> None:
    """EXPLAIN ANALYZE of the creatives query of the deepest page the live walk reached."""
    from urllib.parse import urlsplit

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    parts = urlsplit(url)
    with CaptureQueriesContext(connection) as ctx:
        Client(HTTP_AUTHORIZATION=f"Token {token}").get(f"{parts.path}?{parts.query}")
    page_sql = [q["sql"] for q in ctx.captured_queries if 'FROM "brands_creative"' in q["sql"]]
    print(f"\n--- EXPLAIN (ANALYZE, BUFFERS) of the API's page query on page {depth} (via next) ---")
    explain(page_sql[:1], header=False)


def breakdown(space_id: int, token: str, n: int = 200) -> None:
    """Where an API page's time goes, stage by stage, in-process; stages interleaved so load hits all."""
    from django.test import Client
    from rest_framework.authtoken.models import Token
    from rest_framework.renderers import JSONRenderer

    from bench import baseline
    from brands.api.serializers import CreativeSerializer
    from brands.selectors import brand_roles_for_user, creative_list

    # The API's queries, in its order: adology.api.authentication.TokenAuthentication reads the
    # token, user, membership and organization in one query; the brandspace filter reads the
    # brand roles in one; the paginator reads the page (+1 row) and creative_list() prefetches
    # its media links in position order.
    def auth():
        return Token.objects.select_related("user__membership__organization").get(key=token).user

    user = auth()

    def roles_query():
        return brand_roles_for_user(user, space_id)

    roles = roles_query()

    def page_query():
        rows = creative_list().filter(brand_id__in=list(roles))
        return list(rows.order_by("-first_seen_at", "-pk")[: PAGE_SIZE + 1])

    page = page_query()[:PAGE_SIZE]
    request = SimpleNamespace(brand_roles=roles)  # what the serializer reads the roles from
    data = CreativeSerializer(page, many=True, context={"request": request}).data
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    stages = {
        "1 token + user + membership (auth)": auth,
        "2 brand_roles_for_user": roles_query,
        "3-4 creative_list page + media links": page_query,
        "  CreativeSerializer(many=True).data": lambda: (
            CreativeSerializer(page, many=True, context={"request": request}).data
        ),
        "  JSONRenderer().render": lambda: JSONRenderer().render(
            {"next": None, "previous": None, "results": data}
        ),
        "whole API page (test Client)": lambda: client.get(f"/api/creatives/?brandspace={space_id}"),
        "for scale: bare .values() page query": lambda: baseline.page_rows(roles),
        "for scale: baseline media query": lambda: baseline.media_by_creative([c.id for c in page]),
    }
    timings = {name: [] for name in stages}
    for fn in stages.values():
        for _ in range(5):
            fn()
    for _ in range(n):
        for name, fn in stages.items():
            t = time.perf_counter()
            fn()
            timings[name].append((time.perf_counter() - t) * 1000)
    print(f"\n--- Where an API page's time goes (in-process, {n} interleaved runs, ms) ---")
    print(f"  (the API page is {len(data)} rows; stages 1 to 4 are its 4 queries)")
    print(f"  {'stage':<44} {'p50':>7} {'p95':>7}")
    for name, ms in timings.items():
        print(f"  {name:<44} {statistics.median(ms):7.2f} {percentile(ms, 95):7.2f}")


def profile(space_id: int, token: str, n: int = 100) -> None:
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    common.profile_requests(client, f"/api/creatives/?brandspace={space_id}", n, label="API pages", top=25)


# ---------------------------------------------------------------- report


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="timed requests per variant (200)")
    parser.add_argument("--reload", action="store_true", help="rebuild the data even if it looks right")
    parser.add_argument(
        "--investigate", action="store_true", help="stage breakdown, EXPLAIN, profile on PASS too"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args()
    n = args.requests

    common.start_django(ensure_database)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from adology.embedded import free_port

    try:
        call_command("makemigrations", check=True, dry_run=True, verbosity=0)
    except SystemExit:
        raise SystemExit("models have changes without a migration: run makemigrations first") from None
    call_command("migrate", interactive=False, verbosity=0)
    load_data(force=args.reload)
    space_id, token, space_rows = ensure_tenant()
    print(f"brandspace {space_id}: 6 brands (1 primary, 3 competitors, 2 followed), {space_rows:,} creatives")

    checks = in_process_checks(space_id, token, n)
    connection.close()

    import httpx

    port = free_port()
    server = start_server(port)
    print(f"server: gunicorn 2 workers x 2 threads (gthread) on 127.0.0.1:{port}, DEBUG={settings.DEBUG}")
    root = f"http://127.0.0.1:{port}"
    api = f"{root}/api/creatives/?brandspace={space_id}"
    base = f"{root}/bench/baseline/creatives/?brandspace={space_id}"
    longest = "&ordering=longest_running"
    variants = (
        ("page 1, newest", "", False),
        ("page 1, longest_running", longest, False),
        (f"pages 1..{n} via next, newest", "", True),
    )
    live = {}
    try:
        with httpx.Client(headers={"Authorization": f"Token {token}"}, timeout=30) as client:
            warm_up(client, token, [api, base, api + longest, base + longest])
            for label, suffix, follow in variants:
                endpoints = {"API": api + suffix, "baseline": base + suffix}
                live[label] = time_pages(client, endpoints, n, follow_next=follow)
            missed = any(
                percentile(t["API"], 95) > GOAL_P95_MS
                or percentile(t["API"], 95) > GOAL_RATIO * percentile(t["baseline"], 95)
                for t in live.values()
            )
    finally:
        stop_server(server)

    print(f"load average after the live runs: {common.load_average()} (other processes share the 2 cores)")
    print()
    print("SQL queries per page (in-process, CaptureQueriesContext):")
    for name, count in checks["queries"].items():
        print(f"  {name:<28} {count}")
    for name, same in checks["same_page"].items():
        print(f"same page as the API ({name}): {'yes' if same else 'NO'}")
    if checks["media_order_differs"]:
        print(
            f"note: {checks['media_order_differs']} creatives list their media in a different order "
            "in the API than by CreativeMediaLink.position (compared as sets)"
        )
    print(
        f"page size: API {checks['api_page_bytes']:,} bytes, baseline {checks['baseline_page_bytes']:,} bytes"
    )
    print()
    print(f"In-process, {n} runs each (ms):")
    print(f"  {'':<42} {'p50':>7} {'p95':>7} {'max':>7}")
    for name, s in checks["in_process"].items():
        print(f"  {name:<42} {s['p50']:7.2f} {s['p95']:7.2f} {s['max']:7.2f}")
    print()
    print(f"Live server, {n} sequential requests per variant over one keep-alive connection (ms):")
    header = (
        f"  {'variant':<32} {'API p50':>8} {'API p95':>8} {'base p50':>9} {'base p95':>9}"
        f" {'p50 x':>6} {'p95 x':>6}"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    verdicts = []
    for label, times in live.items():
        a, b = summary(times["API"]), summary(times["baseline"])
        r50, r95 = a["p50"] / b["p50"], a["p95"] / b["p95"]
        print(
            f"  {label:<32} {a['p50']:8.2f} {a['p95']:8.2f} {b['p50']:9.2f} {b['p95']:9.2f}"
            f" {r50:6.2f} {r95:6.2f}"
        )
        verdicts.append((label, a["p95"], r95))
        if times["_depth"] > 1:
            print(f"  {'':<32} (the walk reached page {times['_depth']})")
    print("Goals (issue 2): API p95 <= 50 ms on this machine, and API p95 <= 2x the baseline p95.")
    for i, (label, p95, ratio) in enumerate(verdicts):
        ok_abs, ok_ratio = p95 <= GOAL_P95_MS, ratio <= GOAL_RATIO
        tag = "GOAL" if i == 0 else "also"
        print(
            f"  [{tag}] {label:<32} p95 {p95:6.2f} ms <= {GOAL_P95_MS:.0f}: {'PASS' if ok_abs else 'MISS'}"
            f"   ratio {ratio:4.2f} <= {GOAL_RATIO:.0f}: {'PASS' if ok_ratio else 'MISS'}"
        )
    deep = live[variants[2][0]]
    print(f"  deep walk: {same_pages(deep)}")
    if missed or args.investigate:
        breakdown(space_id, token, n)
        explain(checks["api_sql"])
        explain_deep(deep["_last"]["API"], token, deep["_depth"])
        profile(space_id, token)
    if not all(checks["same_page"].values()):
        print("\nThe baseline does not answer the same page as the API (see above).")
        return 2
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
