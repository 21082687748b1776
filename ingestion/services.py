"""The ingestion pipeline's rules. Tasks are thin wrappers around these functions.

gather -> chord(acquire_batch ...) -> commit_run -> ai_phase, keeping the brand barrier's
promises without a central server:
1. one active run per brand and source: a partial unique index (see IngestionRun.Meta);
2. a brand's results are committed in one transaction, once, after every item is done or
   has finally failed: commit_run locks the run row and re-checks the item rows;
3. a crash loses nothing: every step is idempotent (items are upserted by id, media by
   sha256, creatives by source ad id, Mongo documents by key), so a redelivered message
   redoes work without duplicating it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from adology import mongo
from adology.logging import external_call
from brands.exceptions import DomainError
from brands.models import Brand, Creative, CreativeMedia, CreativeMediaLink, Source, User
from brands.selectors import brand_roles_in_brandspace, brandspace_for_user
from brands.services import require_writer
from ingestion import signals
from ingestion.exceptions import InvalidTransition, ItemsStillPending
from ingestion.media import PermanentMediaError, TransientMediaError, acquire_media
from ingestion.models import IngestionRun, IngestRequest, RunAd, RunItem
from ingestion.selectors import run_for_user, tracked_brand_ids
from ingestion.sources.base import AdRecord, SourceFailed

logger = logging.getLogger(__name__)
Status = IngestionRun.Status

_TRANSITIONS: dict[str, set[str]] = {
    Status.QUEUED: {Status.GATHERING, Status.FAILED, Status.CANCELLED},
    Status.GATHERING: {Status.ACQUIRING, Status.FAILED, Status.CANCELLED},
    Status.ACQUIRING: {Status.COMMITTING, Status.FAILED, Status.CANCELLED},
    Status.COMMITTING: {Status.ANALYZING, Status.FAILED},
    Status.ANALYZING: {Status.SUCCEEDED, Status.PARTIAL, Status.FAILED, Status.CANCELLED},
}
_TIMESTAMP = {
    Status.GATHERING: "gathering_at",
    Status.ACQUIRING: "acquiring_at",
    Status.COMMITTING: "committing_at",
    Status.ANALYZING: "analyzing_at",
    Status.SUCCEEDED: "finished_at",
    Status.PARTIAL: "finished_at",
    Status.FAILED: "finished_at",
    Status.CANCELLED: "finished_at",
}
API_SOURCES = (Source.META, Source.GOOGLE)  # sources a brand's identities can name


def _enqueue(task_name: str, *args) -> None:
    """Send by name after commit (ids only); routes in celeryconfig pick the queue.

    A named signature (not send_task) so eager mode in tests runs it like a worker would.
    """
    transaction.on_commit(lambda: current_app.signature(task_name, args=list(args)).apply_async())


# --- states ----------------------------------------------------------------------------


def run_transition(run: IngestionRun, to: str, *, reason: str = "", **fields) -> IngestionRun:
    """The one place a run changes state. Call inside a transaction on a locked row."""
    if to not in _TRANSITIONS.get(run.status, set()):
        raise InvalidTransition(f"A {run.status} run cannot become {to}.")
    previous = run.status
    run.status = to
    setattr(run, _TIMESTAMP[to], timezone.now())
    if reason:
        run.failure_reason = reason[:2000]
    for name, value in fields.items():
        setattr(run, name, value)
    run.save()
    logger.info("run state", extra={"run_id": run.pk, "from": previous, "to": to, "reason": reason or None})
    transaction.on_commit(
        lambda: signals.run_status_changed.send(sender=IngestionRun, run=run, previous=previous)
    )
    return run


def _locked(run_id: int) -> IngestionRun:
    return IngestionRun.objects.select_for_update().select_related("brand").get(pk=run_id)


def run_fail(*, run_id: int, reason: str) -> None:
    with transaction.atomic():
        run = _locked(run_id)
        if run.is_active:
            run_transition(run, Status.FAILED, reason=reason)


# --- starting runs ----------------------------------------------------------------------


def run_start(*, brand: Brand, source: str, requested_by: User | None = None) -> tuple[IngestionRun, bool]:
    """Start a run, or return the brand's active run for this source: (run, created).

    The partial unique index decides under concurrency; this code only reacts to it.
    """
    for _ in range(5):
        try:
            with transaction.atomic():
                run = IngestionRun.objects.create(brand=brand, source=source, requested_by=requested_by)
        except IntegrityError:
            active = IngestionRun.objects.filter(
                brand=brand, source=source, status__in=IngestionRun.ACTIVE_STATUSES
            ).first()
            if active is not None:
                return active, False
            continue  # it finished between our insert and our look: try again
        # Announced before its gather is enqueued (both after commit), so "queued" comes first.
        transaction.on_commit(
            lambda run=run: signals.run_status_changed.send(sender=IngestionRun, run=run, previous="")
        )
        if source != Source.FEED:  # feed runs are enqueued once their ads are staged
            _enqueue("ingestion.gather", run.pk)
        return run, True
    raise DomainError("Could not start the run; please try again.")


@transaction.atomic
def ingest_request(
    *,
    user: User,
    brandspace_id,
    brand_ids: Iterable[int] | None = None,
    sources: Iterable[str] | None = None,
    idempotency_key: str = "",
) -> list[IngestionRun]:
    """POST /api/brandspaces/{id}/ingest: runs for the chosen brands and sources."""
    brandspace = brandspace_for_user(user, brandspace_id)
    require_writer(user)
    if idempotency_key:
        previous = IngestRequest.objects.filter(requested_by=user, idempotency_key=idempotency_key).first()
        if previous is not None:
            if previous.brandspace_id != brandspace.pk:
                raise DomainError(
                    "This Idempotency-Key was used for another brandspace.", field="Idempotency-Key"
                )
            return list(previous.runs.select_related("brand").order_by("id"))

    roles = brand_roles_in_brandspace(brandspace)
    wanted = list(dict.fromkeys(brand_ids)) if brand_ids else list(roles)
    untracked = [b for b in wanted if b not in roles]
    if untracked:
        raise DomainError(
            f"Brand(s) {', '.join(map(str, untracked))} are not in this brandspace.", field="brands"
        )
    sources = list(dict.fromkeys(sources)) if sources else list(API_SOURCES)
    unknown = [s for s in sources if s not in API_SOURCES]
    if unknown:
        raise DomainError(
            f"Unknown source(s) {', '.join(unknown)}; use {' or '.join(API_SOURCES)} "
            "(customer feeds are uploaded to .../feeds/).",
            field="sources",
        )
    brands = Brand.objects.filter(pk__in=wanted).prefetch_related("identities").order_by("pk")
    runs = []
    for brand in brands:
        for source in sources:
            if any(identity.source == source for identity in brand.identities.all()):
                runs.append(run_start(brand=brand, source=source, requested_by=user)[0])
    if not runs:
        raise DomainError(
            "None of these brands has an identity for these sources; add a Meta page id or "
            "Google advertiser id to the brand first.",
            field="brands",
        )
    if idempotency_key:
        request = IngestRequest.objects.create(
            brandspace=brandspace, requested_by=user, idempotency_key=idempotency_key
        )
        request.runs.set(runs)
    return runs


def run_cancel(*, user: User, run_id) -> IngestionRun:
    run_for_user(user, run_id)  # 404 unless the caller's organization tracks the brand
    require_writer(user)
    with transaction.atomic():
        run = _locked(int(run_id))
        if not run.is_active:
            raise InvalidTransition(f"The run has already ended ({run.status}).")
        if run.status == Status.COMMITTING:
            raise InvalidTransition("The run is committing its results; it can no longer be cancelled.")
        return run_transition(run, Status.CANCELLED, reason=f"cancelled by {user.email}")


def schedule_tracked_brands() -> int:
    """Beat: start a run for every tracked brand and source it has an identity for."""
    started = 0
    brands = Brand.objects.filter(pk__in=tracked_brand_ids()).prefetch_related("identities")
    for brand in brands:
        for source in {identity.source for identity in brand.identities.all()}:
            with transaction.atomic():
                started += run_start(brand=brand, source=source)[1]
    return started


def reap_stuck_runs(*, now: dt.datetime | None = None) -> list[int]:
    """Beat: finish what a lost message left behind; fail what cannot be finished."""
    now = now or timezone.now()
    stuck_after = dt.timedelta(seconds=settings.RUN_STUCK_AFTER_SECONDS)
    reaped = []
    stale = IngestionRun.objects.filter(
        status__in=IngestionRun.ACTIVE_STATUSES, updated_at__lt=now - stuck_after
    ).values_list("pk", flat=True)
    for run_id in stale:
        with transaction.atomic():
            run = _locked(run_id)
            if not run.is_active or run.updated_at >= now - stuck_after:
                continue
            too_old = run.updated_at < now - 3 * stuck_after
            if run.status == Status.ACQUIRING and not too_old:
                run.save(update_fields=["updated_at"])
                _enqueue("ingestion.commit_run", run.pk)  # commits what is done, fails the rest
            elif run.status == Status.ANALYZING and not too_old:
                run.save(update_fields=["updated_at"])
                _enqueue("ingestion.ai_phase", run.pk)
            else:
                minutes = int((now - run.updated_at).total_seconds() // 60)
                run_transition(
                    run, Status.FAILED, reason=f"stuck in {run.status} for {minutes} minutes; reaped"
                )
            reaped.append(run_id)
    return reaped


# --- gather ------------------------------------------------------------------------------


def _days_running(started: dt.date | None, stopped: dt.date | None, today: dt.date) -> int:
    if started is None:
        return 0
    end = min(stopped, today) if stopped else today
    return max(0, (end - started).days + 1)


def _record_json(record: AdRecord) -> dict:
    data = asdict(record)
    data.pop("raw")
    for key in ("started_running_on", "stopped_running_on"):
        data[key] = data[key].isoformat() if data[key] else None
    for key in ("media_urls", "platforms", "countries"):
        data[key] = list(data[key])
    return data


def _store_raw(records: list[AdRecord], run: IngestionRun) -> None:
    from pymongo import UpdateOne

    if not records:
        return
    now = timezone.now()
    ops = [
        UpdateOne(
            {"source": r.source, "source_ad_id": r.source_ad_id},
            {
                "$set": {"brand_id": run.brand_id, "payload": r.raw, "fetched_at": now, "run_id": run.pk},
                "$setOnInsert": {"first_fetched_at": now},
            },
            upsert=True,
        )
        for r in records
    ]
    with external_call("mongo", "raw_ads.bulk_upsert", count=len(ops), run_id=run.pk):
        mongo.collection(mongo.RAW_ADS).bulk_write(ops, ordered=False)


def stage_records(run: IngestionRun, records: list[AdRecord]) -> int:
    """One page of a source: mark archived ads as seen, stage the rest with their media items.

    Idempotent: a redelivered gather stages the same rows again without duplicates.
    Returns how many ads were staged for acquisition.
    """
    today = timezone.now().date()
    by_id: dict[str, AdRecord] = {}
    for record in records:  # a page can repeat an ad; the last word wins
        by_id[record.source_ad_id] = record
    existing = {
        c.source_ad_id: c
        for c in Creative.objects.filter(
            brand_id=run.brand_id, source=run.source, source_ad_id__in=list(by_id)
        ).annotate(media_count=Count("media_links"))
    }
    seen, to_stage = [], []
    for ad_id, record in by_id.items():
        creative = existing.get(ad_id)
        unreadable = isinstance(record.raw, dict) and record.raw.get("snapshot_error")
        if creative is not None and creative.media_count >= len(record.media_urls) and not unreadable:
            seen.append((creative, record))
        else:
            to_stage.append(record)

    now = timezone.now()
    for creative, record in seen:  # archived and unchanged media: only what changes over time
        creative.last_seen_at = now
        creative.stopped_running_on = record.stopped_running_on
        creative.is_active = record.stopped_running_on is None or record.stopped_running_on >= today
        creative.days_running = _days_running(record.started_running_on, record.stopped_running_on, today)
    Creative.objects.bulk_update(
        [c for c, _ in seen], ["last_seen_at", "stopped_running_on", "is_active", "days_running"]
    )

    ads = RunAd.objects.bulk_create(
        [RunAd(run=run, source_ad_id=r.source_ad_id, record=_record_json(r)) for r in to_stage],
        update_conflicts=True,  # a redelivered gather: the same rows, the latest record
        unique_fields=["run", "source_ad_id"],
        update_fields=["record"],
    )
    new_items: list[RunItem] = []
    for record, ad in zip(to_stage, ads, strict=True):
        items = [RunItem(run=run, ad=ad, position=i, url=url) for i, url in enumerate(record.media_urls)]
        snapshot_error = record.raw.get("snapshot_error") if isinstance(record.raw, dict) else None
        if snapshot_error and not items:
            # The ad's media could not even be listed: a failed item, so the run says so
            # (partial) instead of archiving the ad as text and losing its media quietly.
            items = [
                RunItem(
                    run=run,
                    ad=ad,
                    position=0,
                    url=(record.raw.get("ad_snapshot_url") or "https://invalid.example/")[:4000],
                    status=RunItem.Status.FAILED,
                    failure_reason=f"snapshot unreadable: {snapshot_error}"[:500],
                    finished_at=now,
                )
            ]
        new_items += items
    RunItem.objects.bulk_create(new_items, ignore_conflicts=True)
    return len(to_stage)


def gather_run(*, run_id: int) -> list[list[int]] | None:
    """Page the source, store raw payloads, stage items. Returns batches of item ids to acquire
    (empty list: nothing to download, commit straight away; None: nothing more to do)."""
    from ingestion.sources.registry import source_for

    with transaction.atomic():
        run = _locked(run_id)
        if run.status == Status.ACQUIRING:  # redelivered after the chord started: start it again
            return _pending_batches(run)
        if run.status not in (Status.QUEUED, Status.GATHERING):
            return None
        if run.status == Status.QUEUED:
            run_transition(run, Status.GATHERING)

    if run.source == Source.FEED:  # staged at upload; the raw rows are recorded here, off the request
        _store_raw_staged(run)
    else:
        try:
            source = source_for(run.source)
            since = _last_success_date(run)
            page: list[AdRecord] = []
            for record in source.fetch(run.brand, since=since):
                page.append(record)
                if len(page) >= 200:
                    _stage_page(run, page)
                    page = []
            _stage_page(run, page)
        except SourceFailed as exc:
            run_fail(run_id=run_id, reason=exc.reason)
            return None

    with transaction.atomic():
        run = _locked(run_id)
        if run.status != Status.GATHERING:  # cancelled while we paged
            return None
        expected = run.items.count()
        run_transition(run, Status.ACQUIRING, items_expected=expected)
        return _pending_batches(run)


def _store_raw_staged(run: IngestionRun) -> None:
    records = [
        AdRecord(source=run.source, source_ad_id=ad.source_ad_id, format=ad.record["format"], raw=ad.record)
        for ad in run.ads.all()
    ]
    _store_raw(records, run)


def _stage_page(run: IngestionRun, page: list[AdRecord]) -> None:
    if not page:
        return
    _store_raw(page, run)
    with transaction.atomic():
        stage_records(run, page)


def _last_success_date(run: IngestionRun) -> dt.date | None:
    last = (
        IngestionRun.objects.filter(
            brand_id=run.brand_id, source=run.source, status__in=[Status.SUCCEEDED, Status.PARTIAL]
        )
        .order_by("-finished_at")
        .values_list("queued_at", flat=True)
        .first()
    )
    # A day of overlap: an ad delivered late on that day is still seen.
    return (last - dt.timedelta(days=1)).date() if last else None


def _pending_batches(run: IngestionRun) -> list[list[int]]:
    ids = list(run.items.filter(status=RunItem.Status.PENDING).order_by("id").values_list("pk", flat=True))
    size = settings.ACQUIRE_BATCH_SIZE
    return [ids[i : i + size] for i in range(0, len(ids), size)]


# --- acquire -------------------------------------------------------------------------------


def _refresh_counters(run_id: int) -> IngestionRun:
    counts = RunItem.objects.filter(run_id=run_id).aggregate(
        acquired=Count("pk", filter=Q(status=RunItem.Status.ACQUIRED)),
        failed=Count("pk", filter=Q(status=RunItem.Status.FAILED)),
    )
    IngestionRun.objects.filter(pk=run_id).update(
        items_acquired=counts["acquired"], items_failed=counts["failed"], updated_at=timezone.now()
    )
    return IngestionRun.objects.select_related("brand").get(pk=run_id)


_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def _acquire_pool() -> ThreadPoolExecutor:
    """One download pool per process (made after fork). Its threads live on, and with them each
    thread's S3 client (django-storages keeps one per thread, ~190 ms of CPU to build)."""
    global _pool
    pid = os.getpid()
    if _pool is None or _pool[0] != pid:
        with _pool_lock:
            if _pool is None or _pool[0] != pid:
                _pool = (pid, ThreadPoolExecutor(settings.ACQUIRE_CONCURRENCY, thread_name_prefix="acquire"))
    return _pool[1]


def acquire_items(*, run_id: int, item_ids: list[int], final_attempt: bool) -> dict:
    """Download, archive and describe each pending item, with bounded concurrency.

    Returns counts and the ids that failed transiently (the task retries those). On the
    final attempt a transient failure becomes the item's final failure.
    """
    run = IngestionRun.objects.get(pk=run_id)
    if run.status != Status.ACQUIRING:
        return {"acquired": 0, "failed": 0, "retry": [], "skipped": len(item_ids)}
    items = list(RunItem.objects.filter(pk__in=item_ids, status=RunItem.Status.PENDING))

    def work(url: str):
        try:
            return url, acquire_media(url, run_id=run_id), None
        except (TransientMediaError, PermanentMediaError) as exc:
            return url, None, exc
        except Exception as exc:  # a bug or a surprise must not sink the batch
            logger.exception("acquire failed unexpectedly", extra={"run_id": run_id, "url": url[:200]})
            return url, None, PermanentMediaError(f"unexpected error: {type(exc).__name__}: {exc}")

    acquired = failed = 0
    retry = []
    # Ads often share a picture: fetch each distinct URL once.
    by_url = {url: (media, error) for url, media, error in _acquire_pool().map(work, {i.url for i in items})}
    now = timezone.now()
    for item in items:
        media, error = by_url[item.url]
        pending = RunItem.objects.filter(pk=item.pk, status=RunItem.Status.PENDING)
        if media is not None:
            acquired += pending.update(
                status=RunItem.Status.ACQUIRED,
                attempts=item.attempts + 1,
                failure_reason="",
                finished_at=now,
                **{k: v for k, v in asdict(media).items()},
            )
        elif isinstance(error, TransientMediaError) and not final_attempt:
            pending.update(attempts=item.attempts + 1, failure_reason=error.reason[:500])
            retry.append(item.pk)
        else:
            failed += pending.update(
                status=RunItem.Status.FAILED,
                attempts=item.attempts + 1,
                failure_reason=error.reason[:500],
                finished_at=now,
            )
    run = _refresh_counters(run_id)
    signals.run_progress.send(sender=IngestionRun, run=run)
    return {"acquired": acquired, "failed": failed, "retry": retry}


# --- commit --------------------------------------------------------------------------------


def _media_for(items: list[RunItem]) -> dict[str, CreativeMedia]:
    fields = [
        "storage_key",
        "mime_type",
        "bytes",
        "width",
        "height",
        "duration_seconds",
        "perceptual_hash",
        "thumbnail_key",
        "embedding",
        "embedding_model",
        "features",
    ]
    wanted = {i.sha256: i for i in items}
    CreativeMedia.objects.bulk_create(
        [CreativeMedia(sha256=sha, **{f: getattr(i, f) for f in fields}) for sha, i in wanted.items()],
        ignore_conflicts=True,  # archived before, by this run or another brand's
    )
    return CreativeMedia.objects.in_bulk(list(wanted), field_name="sha256")


def commit_run(*, run_id: int) -> bool:
    """Commit the brand's batch in ONE transaction, exactly once. Returns True if it committed.

    Raises ItemsStillPending while items are unfinished and the deadline has not passed.
    """
    with transaction.atomic():
        run = _locked(run_id)
        if run.status != Status.ACQUIRING:
            logger.info("commit skipped", extra={"run_id": run_id, "status": run.status})
            return False
        pending = run.items.filter(status=RunItem.Status.PENDING)
        if pending.exists():
            deadline = run.acquiring_at + dt.timedelta(seconds=settings.COMMIT_DEADLINE_SECONDS)
            if timezone.now() < deadline:
                raise ItemsStillPending(f"{pending.count()} items still pending")
            pending.update(
                status=RunItem.Status.FAILED,
                failure_reason="not acquired before the commit deadline",
                finished_at=timezone.now(),
            )
        run_transition(run, Status.COMMITTING)
        new_ids, updated_ids = _commit_ads(run)
        counts = run.items.aggregate(
            acquired=Count("pk", filter=Q(status=RunItem.Status.ACQUIRED)),
            failed=Count("pk", filter=Q(status=RunItem.Status.FAILED)),
        )
        run_transition(
            run,
            Status.ANALYZING,
            items_acquired=counts["acquired"],
            items_failed=counts["failed"],
            creatives_committed=len(new_ids) + len(updated_ids),
        )
        _enqueue("ingestion.ai_phase", run.pk)
        transaction.on_commit(
            lambda: signals.run_committed.send(
                sender=IngestionRun, run=run, new_creative_ids=new_ids, updated_creative_ids=updated_ids
            )
        )
    logger.info("run committed", extra={"run_id": run_id, "new": len(new_ids), "updated": len(updated_ids)})
    return True


def _commit_ads(run: IngestionRun) -> tuple[list[int], list[int]]:
    today = timezone.now().date()
    now = timezone.now()
    ads = list(run.ads.prefetch_related("items").order_by("pk"))
    acquired_items = [i for ad in ads for i in ad.items.all() if i.status == RunItem.Status.ACQUIRED]
    media_by_sha = _media_for(acquired_items)
    existing = {
        c.source_ad_id: c
        for c in Creative.objects.filter(
            brand_id=run.brand_id, source=run.source, source_ad_id__in=[a.source_ad_id for a in ads]
        )
    }
    to_create, to_update = [], []
    for ad in ads:
        r = ad.record
        started = dt.date.fromisoformat(r["started_running_on"]) if r["started_running_on"] else None
        stopped = dt.date.fromisoformat(r["stopped_running_on"]) if r["stopped_running_on"] else None
        values = {
            "format": r["format"],
            "body": r["body"],
            "title": r["title"][:500],
            "link_url": r["link_url"][:2000],
            "call_to_action": r["call_to_action"][:100],
            "platforms": r["platforms"],
            "countries": r["countries"],
            "started_running_on": started,
            "stopped_running_on": stopped,
            "is_active": stopped is None or stopped >= today,
            "days_running": _days_running(started, stopped, today),
            "last_seen_at": now,
        }
        creative = existing.get(ad.source_ad_id)
        if creative is None:
            creative = Creative(
                brand_id=run.brand_id,
                source=run.source,
                source_ad_id=ad.source_ad_id,
                first_seen_at=now,
                **values,
            )
            to_create.append(creative)
        else:
            for key, value in values.items():
                setattr(creative, key, value)
            to_update.append(creative)
        ad.creative = creative
    Creative.objects.bulk_create(to_create)
    if to_update:
        Creative.objects.bulk_update(to_update, list(values))

    links, relinked = [], []
    for ad in ads:
        items = sorted(
            (i for i in ad.items.all() if i.status == RunItem.Status.ACQUIRED), key=lambda i: i.position
        )
        if items:  # keep what an earlier run archived when this run got nothing new
            relinked.append(ad.creative.pk)
            links += [
                CreativeMediaLink(creative=ad.creative, media=media_by_sha[i.sha256], position=n)
                for n, i in enumerate(items)
            ]
    CreativeMediaLink.objects.filter(creative_id__in=relinked).delete()
    CreativeMediaLink.objects.bulk_create(links)

    created = {c.pk for c in to_create}
    for ad in ads:
        ad.creative_id = ad.creative.pk
        ad.created_creative = ad.creative.pk in created
    if ads:
        RunAd.objects.bulk_update(ads, ["creative", "created_creative"])
    return [c.pk for c in to_create], [c.pk for c in to_update]


# --- AI phase --------------------------------------------------------------------------------


def ai_phase(*, run_id: int) -> bool:
    """Analyse the run's new creatives into MongoDB, then finish the run. Exactly once in effect:
    documents are upserted by creative id, and only an analyzing run can finish."""
    from pymongo import UpdateOne

    from intelligence.providers import provider

    run = IngestionRun.objects.get(pk=run_id)
    if run.status != Status.ANALYZING:
        return False
    ai = provider()
    creative_ids = list(run.ads.filter(created_creative=True).values_list("creative_id", flat=True))
    ops = []
    first_media = CreativeMediaLink.objects.select_related("media").only("creative", "media__features")
    creatives = Creative.objects.filter(pk__in=creative_ids).prefetch_related(
        Prefetch("media_links", queryset=first_media.filter(position=0), to_attr="first_links")
    )
    for creative in creatives:
        # Image features were made at acquire, while each picture was decoded anyway.
        features = creative.first_links[0].media.features if creative.first_links else None
        analysis = ai.analyze(text=f"{creative.title}\n{creative.body}".strip(), image_features=features)
        ops.append(
            UpdateOne(
                {"creative_id": creative.pk, "provider": ai.name},
                {
                    "$set": {
                        **analysis,
                        "brand_id": creative.brand_id,
                        "run_id": run.pk,
                        "analyzed_at": timezone.now(),
                    }
                },
                upsert=True,
            )
        )
    if ops:
        with external_call("mongo", "analyses.bulk_upsert", count=len(ops), run_id=run_id):
            mongo.collection(mongo.ANALYSES).bulk_write(ops, ordered=False)
    with transaction.atomic():
        run = _locked(run_id)
        if run.status != Status.ANALYZING:
            return False
        final = Status.PARTIAL if run.items_failed else Status.SUCCEEDED
        reason = f"{run.items_failed} of {run.items_expected} media items failed" if run.items_failed else ""
        run_transition(run, final, reason=reason)
        transaction.on_commit(
            lambda: signals.analysis_ready.send(sender=IngestionRun, run=run, creative_ids=creative_ids)
        )
    return True


# --- customer feeds ------------------------------------------------------------------------


def feed_ingest(*, user: User, brandspace_id, file_bytes: bytes, filename: str) -> dict:
    """Stage a customer feed's good rows as one feed run per brand; report the bad rows.

    A file with no good row writes nothing and is refused with every row's error.
    """
    from ingestion.sources.feed import FeedRejected, parse_feed

    brandspace = brandspace_for_user(user, brandspace_id)
    require_writer(user)
    try:
        parsed = parse_feed(file_bytes, filename=filename)
    except FeedRejected as exc:
        raise DomainError(exc.message, field="file") from None
    errors = [{"line": e.line, "message": e.message} for e in parsed.errors]

    roles = brand_roles_in_brandspace(brandspace)
    brands = list(Brand.objects.filter(pk__in=roles))
    lookup = {b.slug.lower(): b for b in brands} | {b.name.lower(): b for b in brands}
    by_brand: dict[Brand, list[AdRecord]] = {}
    unknown: dict[str, int] = {}
    for ref, record in parsed.records:
        brand = lookup.get(ref.strip().lower())
        if brand is None:
            unknown[ref] = unknown.get(ref, 0) + 1
        else:
            by_brand.setdefault(brand, []).append(record)
    errors += [
        {"line": None, "message": f"brand {ref!r} is not in this brandspace ({n} rows skipped)"}
        for ref, n in unknown.items()
    ]
    if not by_brand:
        raise DomainError("No row of this feed can be ingested.", field="file", detail={"rows": errors})

    runs = []
    with transaction.atomic():
        for brand, records in by_brand.items():
            run, created = run_start(brand=brand, source=Source.FEED, requested_by=user)
            if not created:
                raise DomainError(
                    f"A feed for {brand.name} is being ingested (run {run.pk}); upload again when it ends.",
                    field="file",
                )
            stage_records(run, records)
            _enqueue("ingestion.gather", run.pk)
            runs.append(run)
    return {"runs": runs, "rows_accepted": sum(map(len, by_brand.values())), "errors": errors}
