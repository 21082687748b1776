"""The Celery app. Every Celery setting lives in the top-level `celeryconfig.py`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adology.settings.local")

app = Celery("adology")
app.config_from_object("celeryconfig")
app.autodiscover_tasks()

# Publishes task-sent events on the events bus from web processes too (see that module).
import adology.celery_events  # noqa: E402, F401
