"""The pipeline's Celery tasks: load by id, call a service, declare retries.

Names are stable (they travel in broker messages); celeryconfig routes them by prefix:
ingestion.gather* -> gather, ingestion.acquire* -> acquire, ingestion.commit* -> commit,
ingestion.ai* -> ai, anything else -> default.
"""

from __future__ import annotations

import logging
import random

from botocore.exceptions import ConnectionError as BotoConnectionError
from celery import chord, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from pymongo.errors import ConnectionFailure, ServerSelectionTimeoutError

from ingestion import services
from ingestion.exceptions import ItemsStillPending

logger = logging.getLogger(__name__)

# A store that is briefly away (database failover, Mongo election, S3 hiccup) is waited
# out: every step is idempotent, so running it again is safe.
PASSING_INFRA_ERRORS = (
    OperationalError,
    InterfaceError,
    ConnectionFailure,
    ServerSelectionTimeoutError,
    BotoConnectionError,
)
RETRY_ON_INFRA = {
    "autoretry_for": PASSING_INFRA_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 60,  # below every queue's visibility timeout
    "retry_jitter": True,
    "retry_kwargs": {"max_retries": 6},
}


def backoff(retries: int, *, base: float, cap: float) -> float:
    """Exponential backoff with full jitter, capped below the queue's visibility timeout."""
    return random.uniform(base, min(cap, base * 2**retries))


@shared_task(name="ingestion.gather", acks_late=True, **RETRY_ON_INFRA)
def gather(run_id: int) -> dict:
    batches = services.gather_run(run_id=run_id)
    if batches is None:
        return {"batches": 0}
    if not batches:
        commit_run.delay(run_id)
        return {"batches": 0}
    header = [acquire_batch.si(run_id, batch) for batch in batches]
    body = commit_run.si(run_id).on_error(commit_on_chord_error.si(run_id))
    chord(header)(body)
    return {"batches": len(batches), "items": sum(map(len, batches))}


@shared_task(name="ingestion.acquire_batch", bind=True, acks_late=True, max_retries=None, **RETRY_ON_INFRA)
def acquire_batch(self, run_id: int, item_ids: list[int]) -> dict:
    final = self.request.retries >= settings.ACQUIRE_MAX_RETRIES
    outcome = services.acquire_items(run_id=run_id, item_ids=item_ids, final_attempt=final)
    if outcome["retry"]:
        # Same task id, so the chord still waits for this batch; only the failed items go again.
        raise self.retry(
            args=(run_id, outcome["retry"]),
            countdown=backoff(
                self.request.retries,
                base=settings.ACQUIRE_RETRY_BASE_SECONDS,
                cap=settings.ACQUIRE_RETRY_CAP_SECONDS,
            ),
        )
    # Counts only: chord results travel through the result backend and must stay small.
    return {"acquired": outcome["acquired"], "failed": outcome["failed"]}


@shared_task(name="ingestion.commit_run", bind=True, acks_late=True, max_retries=None, **RETRY_ON_INFRA)
def commit_run(self, run_id: int) -> bool:
    try:
        return services.commit_run(run_id=run_id)
    except ItemsStillPending as exc:
        # The service fails the stragglers once the deadline passes, so this ends.
        raise self.retry(countdown=settings.COMMIT_RECHECK_SECONDS, exc=exc) from exc


@shared_task(name="ingestion.commit_on_chord_error", acks_late=True)
def commit_on_chord_error(run_id: int) -> None:
    # A header task crashed for good (not an item failure: those are recorded, not raised).
    # Commit what is done; commit_run waits for the rest until its deadline.
    logger.warning("acquire chord failed; committing what is done", extra={"run_id": run_id})
    commit_run.delay(run_id)


@shared_task(name="ingestion.ai_phase", acks_late=True, **RETRY_ON_INFRA)
def ai_phase(run_id: int) -> bool:
    return services.ai_phase(run_id=run_id)


@shared_task(name="ingestion.schedule_runs", acks_late=True)
def schedule_runs() -> int:
    return services.schedule_tracked_brands()


@shared_task(name="ingestion.reap_runs", acks_late=True)
def reap_runs() -> list[int]:
    return services.reap_stuck_runs()
