"""Celery on SQS: one moto, one set of queues and one real worker for the whole package.

The queues get a short visibility timeout (2 s) and maxReceiveCount 2 so redelivery and
dead-lettering happen within seconds.
"""

import uuid

import pytest
from celery import Celery

import celeryconfig
from ingestion.queues import ensure_queues
from tests.servers import CeleryWorker


@pytest.fixture(scope="package")
def sqs_env(sqs_broker_env):
    env = {
        **sqs_broker_env,
        "SQS_QUEUE_PREFIX": f"q{uuid.uuid4().hex[:8]}-",
        "SQS_VISIBILITY_TIMEOUT": "2",
        "SQS_MAX_RECEIVE_COUNT": "2",
    }
    ensure_queues(environ=env)
    return env


@pytest.fixture(scope="package")
def sqs_worker(sqs_env):
    """A real worker on SQS consuming the "default" queue, with events and remote control on the bus."""
    worker = CeleryWorker(sqs_env, queues="default", pool="threads", concurrency=2).wait_ready()
    yield worker
    worker.cleanup()


@pytest.fixture(scope="package")
def client_app(sqs_env):
    """A Celery app configured as a web process with this environment would be."""
    app = Celery("adology-test-client", set_as_current=False)
    app.config_from_object("celeryconfig")
    app.conf.update(celeryconfig.env_settings(sqs_env))
    return app
