"""The one home of Celery settings.

Queues are one per pipeline phase so each can be scaled (and dead-lettered) on its own.
Routes go by task name; tests/test_celery_queues.py checks every task has a declared queue.

Settings that do not depend on the environment are plain module names below. Those that do
(broker, result backend, events bus, SQS topology) come from `env_settings(environ)`, applied
to this module from `os.environ` at import, so a test or a tool can build the same settings
for another environment (e.g. a client app publishing to an SQS broker at a local moto).

Brokers:
- `sqs://` (production): every queue is predefined (kombu never creates or lists queues;
  `manage.py sqs_setup` does, with a dead-letter queue for each). See `sqs_settings`.
- `redis://` (`make run`, the benchmark) or `memory://` (in-process tests): no dead-letter
  queues, so failures are acknowledged and nothing is requeued on a lost worker.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from kombu import Queue

PIPELINE_QUEUES = ("gather", "acquire", "commit", "ai")
# Housekeeping (beat-driven) work that belongs to no phase, and the `adology.ping` health check.
OTHER_QUEUES = ("default",)
ALL_QUEUES = (*PIPELINE_QUEUES, *OTHER_QUEUES)

# Per queue: (soft, hard) time limit in seconds for its tasks. The soft limit raises
# SoftTimeLimitExceeded inside the task so it can record why it stopped; the hard limit kills it.
# A task that sets its own limits in its decorator keeps them (see QueueTimeLimits).
QUEUE_TIME_LIMITS: dict[str, tuple[int, int]] = {
    "gather": (540, 600),
    "acquire": (270, 300),
    "commit": (100, 120),
    "ai": (540, 600),
    "default": (50, 60),
}
# A message stays invisible to other workers for the queue's hard limit plus this margin, so SQS
# never hands a message to a second worker while the first may still be running it. The margin
# also bounds a retry's countdown: a message with an ETA is held, unacknowledged, by the worker
# that received it until the ETA, so `countdown` must stay well below the margin.
VISIBILITY_MARGIN = 60
# SQS moves a message to the queue's dead-letter queue once it has been received this many times
# without being deleted (a task that failed, timed out or lost its worker each time).
DEFAULT_MAX_RECEIVE_COUNT = 5
DLQ_SUFFIX = "-dlq"
# The account moto serves when no AWS_ACCOUNT_ID is given.
MOTO_DEFAULT_ACCOUNT = "123456789012"

task_queues = [Queue(name) for name in ALL_QUEUES]
task_default_queue = "default"
task_create_missing_queues = False

# Task name prefix -> queue. Names are stable: they are stored in broker messages.
task_routes = {
    "ingestion.gather*": {"queue": "gather"},
    "ingestion.acquire*": {"queue": "acquire"},
    "ingestion.commit*": {"queue": "commit"},
    "ingestion.ai*": {"queue": "ai"},
}


def queue_for_task(task_name: str) -> str:
    """The queue `task_routes` sends a task to (the default queue when no route matches)."""
    for pattern, route in task_routes.items():
        if fnmatchcase(task_name, pattern):
            return route["queue"]
    return task_default_queue


class QueueTimeLimits:
    """Task annotation: each task gets its queue's soft and hard time limits.

    Limits live with the queue because the queue's visibility timeout is derived from them;
    a task that sets `time_limit`/`soft_time_limit` itself keeps its own values.
    """

    def annotate(self, task):
        if task.time_limit is not None or task.soft_time_limit is not None:
            return None
        soft, hard = QUEUE_TIME_LIMITS[queue_for_task(task.name)]
        return {"soft_time_limit": soft, "time_limit": hard}


task_annotations = [QueueTimeLimits()]

# Task modules outside INSTALLED_APPS (which autodiscovery covers): `adology.ping`.
imports = ("adology.tasks",)

# Keep Django's LOGGING (JSON lines in production, request/task ids) in workers too.
worker_hijack_root_logger = False

# Beat: keep every tracked brand fresh, and finish or fail runs a lost message left behind.
beat_schedule = {
    "schedule-runs": {
        "task": "ingestion.schedule_runs",
        "schedule": float(os.environ.get("RUN_SCHEDULE_INTERVAL_SECONDS") or 6 * 3600),
    },
    "reap-runs": {
        "task": "ingestion.reap_runs",
        "schedule": float(os.environ.get("RUN_REAP_INTERVAL_SECONDS") or 300),
    },
}

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
# Acknowledge after the task ran, one message per process at a time: a worker that dies
# mid-task leaves its message to be redelivered, and no worker hoards messages it cannot start.
task_acks_late = True
worker_prefetch_multiplier = 1
task_track_started = True
timezone = "UTC"
enable_utc = True
broker_connection_retry_on_startup = True

# Soft shutdown: on a cold shutdown (SIGQUIT, or SIGTERM when the worker runs with
# REMAP_SIGTERM=SIGQUIT, as production workers should) a worker with running tasks waits this
# long (Celery 5.7 waits the whole time, even if they finish sooner), then cancels what still
# runs and releases the messages it holds, which SQS hands to another worker. Below the usual
# 30 s grace period of ECS and Kubernetes, so the release happens before the orchestrator's
# SIGKILL (after which messages come back only when their visibility timeout ends). An idle
# worker stops at once (worker_enable_soft_shutdown_on_idle stays off: it would wait too).
worker_soft_shutdown_timeout = 25.0


@dataclass(frozen=True)
class SqsQueue:
    """One Celery queue on SQS and its dead-letter queue."""

    name: str  # the Celery queue name ("acquire")
    sqs_name: str  # the SQS queue name ("adology-acquire")
    url: str
    dlq_name: str
    dlq_url: str
    visibility_timeout: int
    max_receive_count: int


def visibility_timeout(queue: str) -> int:
    return QUEUE_TIME_LIMITS[queue][1] + VISIBILITY_MARGIN


def sqs_queues(environ: Mapping[str, str]) -> list[SqsQueue]:
    """Every Celery queue's SQS queue and dead-letter queue, named and located from `environ`.

    Queue URLs are built, not looked up: `https://sqs.<region>.amazonaws.com/<account>/<name>`
    on AWS (AWS_ACCOUNT_ID is required), `<AWS_ENDPOINT_URL>/<account>/<name>` on a local
    emulator. Building them keeps importing this module free of network calls and credentials
    (every web process imports it); `sqs_setup` creates the queues at exactly these URLs and
    fails loudly if SQS answers with another.

    SQS_VISIBILITY_TIMEOUT (tests only) replaces every queue's visibility timeout, even below its
    hard time limit, so tests can watch redelivery within seconds.
    """
    prefix = environ.get("SQS_QUEUE_PREFIX", "adology-")
    region = environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    endpoint = (environ.get("AWS_ENDPOINT_URL") or "").rstrip("/")
    account = environ.get("AWS_ACCOUNT_ID") or ""
    if endpoint:
        base = f"{endpoint}/{account or MOTO_DEFAULT_ACCOUNT}"
    elif account:
        base = f"https://sqs.{region}.amazonaws.com/{account}"
    else:
        raise RuntimeError("An SQS broker on AWS needs AWS_ACCOUNT_ID to locate its queues.")
    max_receive_count = int(environ.get("SQS_MAX_RECEIVE_COUNT") or DEFAULT_MAX_RECEIVE_COUNT)
    forced_visibility = environ.get("SQS_VISIBILITY_TIMEOUT")
    queues = []
    for name in ALL_QUEUES:
        sqs_name = f"{prefix}{name}"
        queues.append(
            SqsQueue(
                name=name,
                sqs_name=sqs_name,
                url=f"{base}/{sqs_name}",
                dlq_name=f"{sqs_name}{DLQ_SUFFIX}",
                dlq_url=f"{base}/{sqs_name}{DLQ_SUFFIX}",
                visibility_timeout=int(forced_visibility) if forced_visibility else visibility_timeout(name),
                max_receive_count=max_receive_count,
            )
        )
    return queues


def _sqs_broker_url(broker_url: str, environ: Mapping[str, str]) -> str:
    """kombu's SQS transport takes its endpoint from the broker URL's host, not from an option:
    a bare `sqs://` with AWS_ENDPOINT_URL set becomes `sqs://@host:port` (credentials then come
    from boto3's usual chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the instance role)."""
    endpoint = environ.get("AWS_ENDPOINT_URL") or ""
    if not endpoint or urlsplit(broker_url).hostname:
        return broker_url
    parts = urlsplit(endpoint)
    return f"sqs://@{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def sqs_settings(broker_url: str, environ: Mapping[str, str]) -> dict:
    queues = sqs_queues(environ)
    endpoint = environ.get("AWS_ENDPOINT_URL") or ""
    url = _sqs_broker_url(broker_url, environ)
    return {
        # Celery prefers the CELERY_BROKER_URL variable over `broker_url`, so the URL with the
        # endpoint goes in the read and write URLs, which its connections use.
        "broker_url": url,
        "broker_read_url": url,
        "broker_write_url": url,
        "broker_transport_options": {
            "region": environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            "is_secure": not endpoint.startswith("http://"),
            # Keyed by Celery queue name; kombu uses these URLs and never creates queues.
            "predefined_queues": {q.name: {"url": q.url} for q in queues},
            # Long polling: an empty queue costs one request per wait, not a request per second.
            "wait_time_seconds": int(environ.get("SQS_WAIT_TIME_SECONDS") or 20),
            # Added after an empty long poll only; long polling already paces the loop.
            "polling_interval": float(environ.get("SQS_POLLING_INTERVAL") or 0),
            # Used by kombu only when it creates a queue, which it never does here; the real
            # per-queue value is the queue attribute that sqs_setup sets.
            "visibility_timeout": max(q.visibility_timeout for q in queues),
        },
        # What happens to a message whose task did not succeed. Every queue has a dead-letter
        # queue (sqs_setup), so each path below is bounded by maxReceiveCount:
        # - The task failed (an error it does not retry, or its retries ran out): rejected, not
        #   acknowledged. kombu leaves a rejected message in a queue that has a redrive policy
        #   (and deletes it from one that has none), so SQS redelivers it after the visibility
        #   timeout and, after maxReceiveCount receives, moves it to the dead-letter queue, where
        #   `manage.py dlq` shows it and redrives it once the cause is fixed. A failure a retry
        #   can fix is the task's own `self.retry(...)`, which acknowledges the message and
        #   publishes a new one; the dead-letter queue gets what retries could not fix.
        "task_acks_on_failure": False,
        # - Killed by its hard time limit, or its process died (SIGKILL, OOM): requeued. On SQS
        #   kombu (5.7) requeues by making the same message visible again after
        #   wait_time_seconds, publishing no copy (celery/celery#4002 is fixed; the test
        #   test_a_requeued_sqs_message_comes_back_once_not_as_a_copy guards it). Each requeue
        #   is one more receive, so a message that kills every worker ends in the dead-letter
        #   queue instead of looping forever. That bound is why these two are set only on SQS.
        "task_acks_on_timeout": False,
        "task_reject_on_worker_lost": True,
    }


def env_settings(environ: Mapping[str, str]) -> dict:
    """The settings that depend on the environment."""
    broker_url = environ.get("CELERY_BROKER_URL") or environ.get("REDIS_URL") or "memory://"
    events_url = environ.get("CELERY_EVENTS_URL") or ""
    settings: dict = {
        "broker_url": broker_url,
        "result_backend": environ.get("CELERY_RESULT_BACKEND") or environ.get("REDIS_URL") or None,
    }
    if broker_url.startswith("sqs://"):
        settings.update(sqs_settings(broker_url, environ))
    elif broker_url.startswith(("redis://", "rediss://")):
        # Redis redelivers an unacknowledged message after this long: the longest visibility
        # any queue needs, so a message is never handed out twice while still running.
        settings["broker_transport_options"] = {
            "visibility_timeout": max(visibility_timeout(q) for q in ALL_QUEUES)
        }
    if events_url:
        # Worker events (for Flower) and remote control (inspect, revoke) go over a Redis
        # "events bus", whatever the broker: SQS carries neither. The worker's Consumer
        # subclass sends them there; task-sent events are published there by a signal receiver
        # in adology.celery_events (the stock task-sent event would go to the broker).
        settings.update(
            {
                "worker_consumer": "adology.celery_events:EventsBusConsumer",
                "worker_send_task_events": True,
                "task_send_sent_event": False,
                "adology_events_url": events_url,
            }
        )
    elif broker_url.startswith(("redis://", "rediss://")):
        # A Redis broker carries events and remote control itself.
        settings["worker_send_task_events"] = True
        settings["task_send_sent_event"] = True
    return settings


globals().update(env_settings(os.environ))
