"""`manage.py sqs_setup` against SQS (moto): creates every queue and dead-letter queue, then verifies."""

import json
import subprocess
import sys
import uuid

import pytest

import celeryconfig
from ingestion.queues import ensure_queues, sqs_client
from tests.servers import ROOT

pytestmark = pytest.mark.slow


def sqs_setup(env) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "sqs_setup"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def table(output: str) -> dict[str, list[str]]:
    """Rows of the printed table by queue name (header skipped)."""
    return {line.split()[0]: line.split() for line in output.splitlines()[1:]}


def test_sqs_setup_creates_every_queue_with_its_dead_letter_queue_then_verifies(sqs_broker_env):
    env = {**sqs_broker_env, "SQS_QUEUE_PREFIX": f"s{uuid.uuid4().hex[:8]}-"}

    first = table(sqs_setup(env))
    assert set(first) == set(celeryconfig.ALL_QUEUES)
    assert all(row[2:4] == ["created", "created"] for row in first.values()), first

    second = table(sqs_setup(env))
    assert all(row[2:4] == ["verified", "verified"] for row in second.values()), second

    client = sqs_client(environ=env)
    for q in celeryconfig.sqs_queues(env):
        attrs = client.get_queue_attributes(QueueUrl=q.url, AttributeNames=["All"])["Attributes"]
        hard_limit = celeryconfig.QUEUE_TIME_LIMITS[q.name][1]
        assert int(attrs["VisibilityTimeout"]) == hard_limit + celeryconfig.VISIBILITY_MARGIN
        dlq_arn = client.get_queue_attributes(QueueUrl=q.dlq_url, AttributeNames=["QueueArn"])["Attributes"]
        policy = json.loads(attrs["RedrivePolicy"])
        assert policy["deadLetterTargetArn"] == dlq_arn["QueueArn"]
        assert int(policy["maxReceiveCount"]) == celeryconfig.DEFAULT_MAX_RECEIVE_COUNT


def test_sqs_setup_puts_back_an_attribute_that_drifted(sqs_broker_env):
    env = {**sqs_broker_env, "SQS_QUEUE_PREFIX": f"d{uuid.uuid4().hex[:8]}-"}
    ensure_queues(environ=env)
    client = sqs_client(environ=env)
    acquire = next(q for q in celeryconfig.sqs_queues(env) if q.name == "acquire")
    client.set_queue_attributes(QueueUrl=acquire.url, Attributes={"VisibilityTimeout": "5"})

    statuses = {s.queue: s.action for s in ensure_queues(environ=env)}

    assert statuses == {
        name: ("fixed" if name == "acquire" else "verified") for name in celeryconfig.ALL_QUEUES
    }
    attrs = client.get_queue_attributes(QueueUrl=acquire.url, AttributeNames=["VisibilityTimeout"])[
        "Attributes"
    ]
    assert int(attrs["VisibilityTimeout"]) == acquire.visibility_timeout
