"""The Celery app. Every Celery setting lives in the top-level `celeryconfig.py`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adology.settings.local")

app = Celery("adology")
app.config_from_object("celeryconfig")
app.autodiscover_tasks()
