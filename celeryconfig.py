"""The one home of Celery settings.

Queues are one per pipeline phase so each can be scaled (and dead-lettered) on its own.
Routes go by task name; tests/test_celery_queues.py checks every task has a declared queue.
"""

import os

from kombu import Queue

PIPELINE_QUEUES = ("gather", "acquire", "commit", "ai")
# Housekeeping (beat-driven) work that belongs to no phase.
OTHER_QUEUES = ("default",)

broker_url = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or "memory://"
result_backend = os.environ.get("CELERY_RESULT_BACKEND") or os.environ.get("REDIS_URL") or None

task_queues = [Queue(name) for name in (*PIPELINE_QUEUES, *OTHER_QUEUES)]
task_default_queue = "default"
task_create_missing_queues = False

# Task name prefix -> queue. Names are stable: they are stored in broker messages.
task_routes = {
    "ingestion.gather*": {"queue": "gather"},
    "ingestion.acquire*": {"queue": "acquire"},
    "ingestion.commit*": {"queue": "commit"},
    "ingestion.ai*": {"queue": "ai"},
}

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
task_acks_late = True
worker_prefetch_multiplier = 1
task_track_started = True
timezone = "UTC"
enable_utc = True
broker_connection_retry_on_startup = True
