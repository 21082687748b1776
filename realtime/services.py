"""Turn what the pipeline and the organization model announce into realtime events.

Receivers (realtime/receivers.py) call these after the database commit. Fan-out rule: an
event about a brand goes to every brandspace that tracks the brand (primary, competitor or
followed), each event carrying the brand's role in that brandspace.
"""

from __future__ import annotations

import logging

from brands.models import Creative, CreativeMediaLink
from ingestion.models import IngestionRun
from realtime import events, throttle
from realtime.broadcast import broadcast, disconnect_user
from realtime.events import EventType
from realtime.selectors import brandspace_roles_for_brand

logger = logging.getLogger(__name__)
Status = IngestionRun.Status

# States that are progress stages of their own; committing and analyzing are told by
# run.committed (the commit and the analysis start in one transaction).
_STAGE_STATUSES = (Status.GATHERING, Status.ACQUIRING)


def _per_brandspace(run: IngestionRun, event_type: EventType, build) -> list[dict]:
    return [
        events.envelope(event_type, brandspace_id=space_id, payload=build(role))
        for space_id, role in sorted(brandspace_roles_for_brand(run.brand_id).items())
    ]


def _queued_events(run: IngestionRun) -> list[dict]:
    """run.queued, once per run: from the web process's on_commit, or from the worker's first
    state change when that wins the race (the gather task is enqueued before the signal)."""
    if not throttle.first_announcement(run.pk):
        return []
    return _per_brandspace(
        run,
        EventType.RUN_QUEUED,
        lambda role: {**events.run_payload(run, role=role), "status": Status.QUEUED},
    )


# How long run.finished waits for run.committed, announced by the commit task's process: the
# AI phase is enqueued in the same commit and can finish before that announcement is sent.
COMMITTED_WAIT_SECONDS = 10


def announce_run_status(*, run: IngestionRun, previous: str) -> None:
    """run.queued for a new run, a progress stage for gathering/acquiring, run.finished at the end."""
    committed = run.status in events.FINISHED_STATUSES and run.committing_at is not None
    if committed and not throttle.wait_for_mark(run.pk, "committed", timeout=COMMITTED_WAIT_SECONDS):
        logger.warning("run.finished sent before run.committed was seen", extra={"run_id": run.pk})
    with throttle.run_lock(run.pk):
        out = _queued_events(run)
        if run.status in _STAGE_STATUSES:
            throttle.progress_slot(run.pk, force=True)  # a stage change always shows; it opens a window
            out += _per_brandspace(
                run, EventType.RUN_PROGRESS, lambda role: events.progress_payload(run, role=role)
            )
        elif run.status in events.FINISHED_STATUSES:
            out += _per_brandspace(
                run, EventType.RUN_FINISHED, lambda role: events.finished_payload(run, role=role)
            )
        broadcast(out)


def announce_run_progress(*, run: IngestionRun) -> None:
    """Coalesced: at most one run.progress per run per REALTIME_PROGRESS_INTERVAL_SECONDS."""
    wait = throttle.progress_slot(run.pk)
    if wait is not None:
        throttle.schedule_trailing(run.pk, wait, _trailing_progress)
        return
    _send_progress(run.pk)


def _trailing_progress(run_id: int) -> None:
    wait = throttle.progress_slot(run_id)
    if wait is not None:  # someone sent meanwhile; their counters may predate ours: try again
        if IngestionRun.objects.filter(pk=run_id, status=Status.ACQUIRING).exists():
            throttle.schedule_trailing(run_id, wait, _trailing_progress)
        return
    _send_progress(run_id)


def _send_progress(run_id: int) -> None:
    with throttle.run_lock(run_id):
        # Read under the lock: once the run has left acquiring, run.committed (sent under the
        # same lock) carries the final counters and no progress may follow it.
        run = IngestionRun.objects.select_related("brand").filter(pk=run_id).first()
        if run is None or run.status != Status.ACQUIRING:
            return
        broadcast(
            _per_brandspace(run, EventType.RUN_PROGRESS, lambda role: events.progress_payload(run, role=role))
        )


def _first_media(creative_ids: list[int]) -> dict[int, object]:
    links = CreativeMediaLink.objects.filter(creative_id__in=creative_ids, position=0).select_related("media")
    return {link.creative_id: link.media for link in links}


def announce_run_committed(
    *, run: IngestionRun, new_creative_ids: list[int], updated_creative_ids: list[int]
) -> None:
    """The final progress, run.committed, then creative.new for each new ad, per brandspace."""
    roles = sorted(brandspace_roles_for_brand(run.brand_id).items())
    creatives = list(Creative.objects.filter(pk__in=new_creative_ids).select_related("brand").order_by("pk"))
    media = _first_media([c.pk for c in creatives])
    out = []
    for space_id, role in roles:
        out.append(
            events.envelope(
                EventType.RUN_PROGRESS,
                brandspace_id=space_id,
                payload=events.progress_payload(run, role=role, stage=Status.ACQUIRING),
            )
        )
        out.append(
            events.envelope(
                EventType.RUN_COMMITTED,
                brandspace_id=space_id,
                payload=events.committed_payload(
                    run, role=role, new=len(new_creative_ids), updated=len(updated_creative_ids)
                ),
            )
        )
        out += [
            events.envelope(
                EventType.CREATIVE_NEW,
                brandspace_id=space_id,
                payload=events.creative_payload(
                    creative, role=role, run_id=run.pk, first_media=media.get(creative.pk)
                ),
            )
            for creative in creatives
        ]
    with throttle.run_lock(run.pk):
        broadcast(out)
        throttle.mark(run.pk, "committed")


def announce_analysis_ready(*, run: IngestionRun, creative_ids: list[int]) -> None:
    broadcast(
        _per_brandspace(
            run,
            EventType.ANALYSIS_READY,
            lambda role: events.analysis_payload(run, role=role, creative_ids=creative_ids),
        )
    )


def revoke_user(*, user_id: int) -> None:
    """Disconnect the user's sockets: they lost their organization or their account."""
    logger.info("realtime access revoked", extra={"user_id": user_id})
    disconnect_user(user_id)
