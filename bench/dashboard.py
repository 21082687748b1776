"""Benchmark: the customer dashboard's pages on 100,000 creatives (issue 5, "Performance").

    .venv/bin/python bench/dashboard.py [--requests 200] [--reload] [--investigate] [--no-live] [--strict]

1. Reuses bench/api_list.py's data: the database `adology_bench` (created, migrated and loaded
   with 100,000 creatives over 50 brands when missing), its organization, owner and brandspace
   of 6 brands (about 12,000 creatives). Adds a second, smaller brandspace of 2 of those brands
   to show that query counts do not follow the data either.
2. Counts SQL queries per page in-process (CaptureQueriesContext, in a pass of its own): the
   overview and compare page on both brandspaces, and the explorer with filters that return
   50 cards, a few cards and none.
3. Times server time in-process (django.test.Client signed in as the owner: the whole Django
   stack, middleware, session, views, templates, without network), `--requests` requests per
   page, all pages interleaved so that load from other processes hits them alike:
     - the overview            /brandspaces/ID/
     - a filtered explorer     /brandspaces/ID/ads/?format=image&active=true&min_days_running=3 (50 cards)
     - the compare page        /brandspaces/ID/compare/
     - baselines in the same process: the API's creatives list page of 50
       (/api/creatives/?brandspace=ID&page_size=50, token auth) and /healthz (the stack's floor).
4. Unless --no-live, the same pages through gunicorn (2 workers x 2 threads, as api_list.py)
   over one keep-alive connection with the owner's session cookie.
5. Prints p50/p95, ratios against the API list page, and PASS/MISS against the goal (p95 at
   most 150 ms per page, in-process). On a MISS (or with --investigate): each missed page's
   queries with their time, EXPLAIN ANALYZE of its slowest one, and a cProfile of the page.

Exit status: 0, or 1 with --strict when a goal is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Forced, not defaulted: whatever the shell says, a benchmark only ever touches its own database.
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

from bench import common  # noqa: E402
from bench.api_list import (  # noqa: E402  (the settings module must be chosen first)
    BRANDSPACE_NAME,
    COMPETITORS,
    N_BRANDS,
    ORG_NAME,
    PRIMARY,
    USER_EMAIL,
    ensure_database,
    ensure_tenant,
    load_data,
    start_server,
    stop_server,
    summary,
)

GOAL_P95_MS = 150.0
WARMUP = 10
SMALL_BRANDSPACE_NAME = f"{BRANDSPACE_NAME} (2 brands)"
ALL_BRANDS_NAME = f"{BRANDSPACE_NAME} (all {N_BRANDS} brands)"
EXPLORER_FILTERS = "format=image&active=true&min_days_running=3"
CARD_MARKER = 'data-testid="ad-card"'


def ensure_brandspace(name: str, primary: int, competitors: list[int]) -> int:
    """A further brandspace of the bench organization over the bench brands (by number)."""
    from brands.models import Brand, Brandspace, Organization, TrackedBrand, User

    org = Organization.objects.get(name=ORG_NAME)
    user = User.objects.get(email=USER_EMAIL)
    by_number = {b.slug: b for b in Brand.objects.all()}
    space, _ = Brandspace.objects.get_or_create(
        organization=org,
        name=name,
        defaults={"primary_brand": by_number[f"bench-brand-{primary:02d}"], "created_by": user},
    )
    for n in competitors:
        TrackedBrand.objects.get_or_create(
            brandspace=space, brand=by_number[f"bench-brand-{n:02d}"], defaults={"role": "competitor"}
        )
    return space.id


def few_cards_filter(space_id: int, wanted: int = 5) -> str:
    """The explorer's filters narrowed by `seen_until` to the day of the `wanted`-th oldest match."""
    from brands.models import Brandspace, Creative

    space = Brandspace.objects.get(pk=space_id)
    ids = [space.primary_brand_id, *space.tracked.values_list("brand_id", flat=True)]
    oldest = (
        Creative.objects.filter(brand_id__in=ids, format="image", is_active=True, days_running__gte=3)
        .order_by("first_seen_at")
        .values_list("first_seen_at", flat=True)[wanted - 1]
    )
    return f"{EXPLORER_FILTERS}&seen_until={oldest.date().isoformat()}"


def signed_in_client():
    from django.test import Client

    from brands.models import User

    client = Client()
    client.force_login(User.objects.get(email=USER_EMAIL))
    return client


def _get(client, url: str):
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}: {response.content[:300]!r}")
    return response


def count_queries(client, pages: dict[str, str]) -> dict[str, dict]:
    """{label: {"queries": [...], "cards": n, "bytes": n}}, one request per page after a warm one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    out = {}
    for label, url in pages.items():
        _get(client, url)
        with CaptureQueriesContext(connection) as ctx:
            body = _get(client, url).content.decode()
        out[label] = {
            "queries": list(ctx.captured_queries),
            "cards": body.count(CARD_MARKER),
            "bytes": len(body.encode()),
        }
    return out


def time_interleaved(clients: dict[str, tuple], n: int, timer) -> dict[str, list[float]]:
    """n requests of each page, pages interleaved; `clients` maps label -> (client, url)."""
    for _ in range(WARMUP):
        for client, url in clients.values():
            timer(client, url)
    times: dict[str, list[float]] = {label: [] for label in clients}
    for _ in range(n):
        for label, (client, url) in clients.items():
            times[label].append(timer(client, url))
    return times


def in_process_timer(client, url: str) -> float:
    t = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - t) * 1000
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    return elapsed


def live_timer(client, url: str) -> float:
    t = time.perf_counter()
    response = client.get(url)
    _ = response.content
    elapsed = (time.perf_counter() - t) * 1000
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}: {response.content[:300]!r}")
    return elapsed


def print_table(title: str, times: dict[str, list[float]], baseline: str, goal_pages: list[str]) -> list:
    b = summary(times[baseline])
    print(title)
    header = (
        f"  {'page':<34} {'p50':>7} {'p95':>7} {'max':>7} {'p50 x API':>10} {'p95 x API':>10}  goal p95<=150"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    verdicts = []
    for label, ms in times.items():
        s = summary(ms)
        verdict = ""
        if label in goal_pages:
            verdict = "PASS" if s["p95"] <= GOAL_P95_MS else "MISS"
            verdicts.append((label, s["p95"], verdict))
        print(
            f"  {label:<34} {s['p50']:7.2f} {s['p95']:7.2f} {s['max']:7.2f}"
            f" {s['p50'] / b['p50']:10.2f} {s['p95'] / b['p95']:10.2f}  {verdict}"
        )
    return verdicts


def print_queries(label: str, queries: list[dict]) -> None:
    print(f"\n--- {label}: its {len(queries)} queries in order (ms as Django records them, to 1 ms) ---")
    for q in queries:
        sql = re.sub(r"\s+", " ", q["sql"])
        print(f"  {float(q['time']) * 1000:7.2f}  {sql[:150]}{' ...' if len(sql) > 150 else ''}")


def explain_slowest(label: str, queries: list[dict]) -> None:
    from django.db import connection

    selects = [q for q in queries if q["sql"].lstrip().upper().startswith("SELECT")]
    if not selects:
        return
    slowest = max(selects, key=lambda q: float(q["time"]))
    print(f"\n--- EXPLAIN (ANALYZE, BUFFERS) of the slowest query of {label} ---")
    print(f"> {slowest['sql'][:600]}{' ...' if len(slowest['sql']) > 600 else ''}")
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {slowest['sql']}")
        for (line,) in cursor.fetchall():
            print(f"  {line}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page (200)")
    parser.add_argument("--reload", action="store_true", help="rebuild the data even if it looks right")
    parser.add_argument(
        "--investigate", action="store_true", help="queries, EXPLAIN and profile of every page, on PASS too"
    )
    parser.add_argument("--no-live", action="store_true", help="skip the run through gunicorn")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args()
    n = args.requests

    common.start_django(ensure_database)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    load_data(force=args.reload)
    space_id, token, space_rows = ensure_tenant()
    small_id = ensure_brandspace(SMALL_BRANDSPACE_NAME, PRIMARY, [COMPETITORS[0]])
    others = [n for n in range(1, N_BRANDS + 1) if n != PRIMARY]
    all_id = ensure_brandspace(ALL_BRANDS_NAME, PRIMARY, others)
    print(
        f"brandspace {space_id}: 6 brands, {space_rows:,} creatives (the goal's pages); also "
        f"brandspace {small_id}: 2 of its brands, and {all_id}: all {N_BRANDS} brands (100,000 creatives)"
    )

    client = signed_in_client()
    from django.test import Client

    api_client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    root = f"/brandspaces/{space_id}"
    pages = {
        "overview": f"{root}/",
        "explorer (filtered, 50 cards)": f"{root}/ads/?{EXPLORER_FILTERS}",
        "compare": f"{root}/compare/",
    }
    baselines = {"API creatives list (50)": f"/api/creatives/?brandspace={space_id}&page_size=50"}

    # --- query counts (their own pass: capturing queries costs time) ---
    few = few_cards_filter(space_id)
    counted = count_queries(
        client,
        {
            **pages,
            "explorer, seen_until narrows it": f"{root}/ads/?{few}",
            "explorer, no match": f"{root}/ads/?{EXPLORER_FILTERS}&q=zzzznotaword",
            "explorer, unfiltered": f"{root}/ads/",
            "overview, 2-brand brandspace": f"/brandspaces/{small_id}/",
            "compare, 2-brand brandspace": f"/brandspaces/{small_id}/compare/",
            "overview, 50-brand brandspace": f"/brandspaces/{all_id}/",
            "compare, 50-brand brandspace": f"/brandspaces/{all_id}/compare/",
        },
    )
    counted.update(count_queries(api_client, baselines))
    counted.update(count_queries(client, {"healthz": "/healthz"}))
    print()
    print("SQL queries per page (in-process, CaptureQueriesContext, not timed):")
    print(f"  {'page':<34} {'queries':>7} {'cards':>6} {'HTML bytes':>11}")
    for label, c in counted.items():
        print(f"  {label:<34} {len(c['queries']):7d} {c['cards']:6d} {c['bytes']:11,d}")
    # With no card at all Django skips the media prefetch: one query fewer, not one per card.
    explorer_counts = {
        len(c["queries"]) for label, c in counted.items() if label.startswith("explorer") and c["cards"]
    }
    print(
        "  explorer pages with cards: "
        + (
            "the same count whatever the number of cards"
            if len(explorer_counts) == 1
            else f"counts differ with the number of cards: {sorted(explorer_counts)}"
        )
    )
    if counted["explorer (filtered, 50 cards)"]["cards"] != 50:
        print("  note: the filtered explorer page did not show 50 cards")
    connection.close()

    # --- in-process server time ---
    timed = {label: (client, url) for label, url in pages.items()}
    timed["API creatives list (50)"] = (api_client, baselines["API creatives list (50)"])
    timed["healthz"] = (client, "/healthz")
    # Not the goal's pages: how the aggregates follow the brandspace's number of ads.
    timed["(info) overview, 50 brands, 100k"] = (client, f"/brandspaces/{all_id}/")
    timed["(info) compare, 50 brands, 100k"] = (client, f"/brandspaces/{all_id}/compare/")
    in_process = time_interleaved(timed, n, in_process_timer)
    print(
        f"\nload average after the in-process run: {common.load_average()}",
        "(other processes share the 2 cores)",
    )
    print()
    verdicts = print_table(
        f"In-process server time (django.test.Client, no network), {n} requests per page, interleaved, ms:",
        in_process,
        "API creatives list (50)",
        list(pages),
    )
    print(f"Goal (issue 5): p95 <= {GOAL_P95_MS:.0f} ms per page on this machine (in-process server time).")
    for label, p95, verdict in verdicts:
        print(f"  {label:<34} p95 {p95:7.2f} ms: {verdict}")
    connection.close()

    # --- the same pages through a real server ---
    if not args.no_live:
        import httpx

        from adology.embedded import free_port

        port = free_port()
        server = start_server(port)
        live_root = f"http://127.0.0.1:{port}"
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        try:
            with (
                httpx.Client(cookies={settings.SESSION_COOKIE_NAME: session}, timeout=30) as browser,
                httpx.Client(headers={"Authorization": f"Token {token}"}, timeout=30) as api,
            ):
                live_pages = {label: (browser, live_root + url) for label, url in pages.items()}
                live_pages["API creatives list (50)"] = (
                    api,
                    live_root + baselines["API creatives list (50)"],
                )
                live_pages["healthz"] = (browser, live_root + "/healthz")
                live = time_interleaved(live_pages, n, live_timer)
        finally:
            stop_server(server)
        print()
        print_table(
            f"Live server (gunicorn 2 workers x 2 threads, DEBUG off, one keep-alive connection), "
            f"{n} requests per page, interleaved, ms:",
            live,
            "API creatives list (50)",
            list(pages),
        )
        print(f"load average after the live run: {common.load_average()}")

    missed = [label for label, _, verdict in verdicts if verdict == "MISS"]
    for label in list(pages) if args.investigate else missed:
        print_queries(label, counted[label]["queries"])
        explain_slowest(label, counted[label]["queries"])
        common.profile_requests(client, pages[label], 50, label=label)
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    started = dt.datetime.now()
    status = main()
    print(f"\n(bench/dashboard.py took {(dt.datetime.now() - started).total_seconds():.0f} s)")
    sys.exit(status)
