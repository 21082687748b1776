"""A real Celery worker on SQS (moto): dead letters, redrive, events and remote control on the bus."""

import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

import pytest

import adology.celery_events  # noqa: F401  (connects the task-sent receiver)
import celeryconfig
from adology.celery_events import bus_app
from adology.embedded import free_port
from ingestion.queues import list_dead_letters, sqs_client
from tests.servers import ROOT, BusEvents

pytestmark = pytest.mark.slow


def wait_for(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def receipts(worker, task_id: str) -> int:
    return len(re.findall(rf"Task adology\.ping\[{task_id}\] received", worker.output))


def test_worker_on_sqs_sends_task_events_over_the_bus(sqs_worker, client_app, sqs_env):
    client_app.set_current()  # the task-sent receiver reads the publishing app's settings
    try:
        with BusEvents(sqs_env["CELERY_EVENTS_URL"]) as bus:
            result = client_app.send_task("adology.ping")
            assert result.get(timeout=20) == sqs_worker.hostname
            wait_for(lambda: "task-succeeded" in bus.of(result.id), timeout=10, what="task-succeeded")
            # Heartbeats (every 2 s) tell Flower the worker is online.
            wait_for(
                lambda: any(
                    e["type"] == "worker-heartbeat" and e["hostname"] == sqs_worker.hostname
                    for e in bus.events
                ),
                timeout=10,
                what="a worker heartbeat",
            )
    finally:
        from adology.celery import app

        app.set_current()

    # task-sent is published after the task message, so it may arrive after task-received;
    # consumers of events (Flower) order a task's states by precedence, not arrival.
    assert {"task-sent", "task-received", "task-started", "task-succeeded"} <= set(bus.of(result.id))
    succeeded = next(e for e in bus.events if e["type"] == "task-succeeded" and e["uuid"] == result.id)
    assert succeeded["hostname"] == sqs_worker.hostname


def test_remote_control_reaches_a_worker_on_sqs_over_the_bus(sqs_worker, client_app):
    control = bus_app(client_app).control

    assert control.inspect(timeout=2, destination=[sqs_worker.hostname]).ping() == {
        sqs_worker.hostname: {"ok": "pong"}
    }
    queues = control.inspect(timeout=2, destination=[sqs_worker.hostname]).active_queues()
    assert [q["name"] for q in queues[sqs_worker.hostname]] == ["default"]

    # Revoke works too: a task revoked before it arrives is not run.
    task_id = str(uuid.uuid4())
    control.revoke(task_id)
    wait_for(
        lambda: (
            task_id
            in control.inspect(timeout=1, destination=[sqs_worker.hostname]).revoked()[sqs_worker.hostname]
        ),
        timeout=10,
        what="the revoke to register",
    )
    result = client_app.send_task("adology.ping", task_id=task_id)
    assert wait_for(lambda: result.state == "REVOKED", timeout=15, what="REVOKED")
    wait_for(
        lambda: f"Discarding revoked task: adology.ping[{task_id}]" in sqs_worker.output,
        timeout=5,
        what="the worker to log the discard",
    )
    assert f"adology.ping[{task_id}] succeeded" not in sqs_worker.output


def test_a_message_that_always_fails_reaches_the_dead_letter_queue_and_redrive_brings_it_back(
    sqs_worker, client_app, sqs_env
):
    # adology.ping takes no arguments: this message fails on every delivery (TypeError), a
    # failure no retry can fix.
    result = client_app.send_task("adology.ping", args=[1, 2])

    report = wait_for(
        lambda: (r := list_dead_letters(queue="default", environ=sqs_env)).count and r,
        timeout=30,
        what="the dead letter",
    )
    assert receipts(sqs_worker, result.id) == 2  # maxReceiveCount
    assert result.state == "FAILURE"
    [letter] = report.messages
    assert (letter.task_name, letter.task_id) == ("adology.ping", result.id)
    assert letter.args == "[1, 2]"
    assert letter.receive_count >= 2

    listed = subprocess.run(
        [sys.executable, "manage.py", "dlq", "list", "default"],
        cwd=ROOT,
        env=sqs_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert "default: 1 dead letter(s)" in listed.stdout
    assert f"adology.ping[{result.id}]" in listed.stdout

    redriven = subprocess.run(
        [sys.executable, "manage.py", "dlq", "redrive", "default"],
        cwd=ROOT,
        env=sqs_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert redriven.returncode == 0, redriven.stderr
    assert "moved 1 message(s)" in redriven.stdout
    # Back on its queue: the worker receives it again.
    wait_for(lambda: receipts(sqs_worker, result.id) >= 3, timeout=15, what="the redriven message")


def test_a_requeued_sqs_message_comes_back_once_not_as_a_copy(client_app, sqs_env):
    """task_reject_on_worker_lost and task_acks_on_timeout=False requeue; on SQS that must not
    duplicate the message (celery/celery#4002), or the dead-letter queue would not bound it."""
    result = client_app.send_task("adology.ping", queue="ai")  # no worker consumes "ai" here
    ai = next(q for q in celeryconfig.sqs_queues(sqs_env) if q.name == "ai")
    client = sqs_client(environ=sqs_env)

    with client_app.connection_for_read() as conn:
        queue = conn.SimpleQueue(client_app.amqp.queues["ai"])
        message = queue.get(timeout=10)
        assert message.headers["id"] == result.id
        message.requeue()
        attrs = client.get_queue_attributes(
            QueueUrl=ai.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        assert (
            int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])
            == 1
        )
        again = queue.get(timeout=10)
        assert again.headers["id"] == result.id
        assert int(again.delivery_info["sqs_message"]["Attributes"]["ApproximateReceiveCount"]) == 2
        again.ack()
        queue.close()


def test_flower_on_the_bus_shows_tasks_and_workers_on_sqs(sqs_worker, client_app, sqs_env):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in sqs_env.items() if not k.startswith("CELERY_")}
    env["FLOWER_UNAUTHENTICATED_API"] = "true"  # the API answers without a login in this test only
    with tempfile.TemporaryFile() as log:
        flower = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                f"--broker={sqs_env['CELERY_EVENTS_URL']}",
                "flower",
                f"--port={port}",
                "--address=127.0.0.1",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: get_json(f"{base}/api/workers") is not None, timeout=20, what="Flower to answer")
            # Flower has subscribed to the bus once it has seen the worker's heartbeat.
            wait_for(
                lambda: sqs_worker.hostname in (get_json(f"{base}/api/workers?refresh=1&status=1") or {}),
                timeout=10,
                what="Flower to see the worker",
            )
            result = client_app.send_task("adology.ping")
            assert result.get(timeout=20) == sqs_worker.hostname

            task = wait_for(
                lambda: (
                    (t := (get_json(f"{base}/api/tasks") or {}).get(result.id))
                    and t["state"] == "SUCCESS"
                    and t
                ),
                timeout=10,
                what="Flower to list the task",
            )
            assert task["name"] == "adology.ping"
            assert task["worker"] == sqs_worker.hostname
        finally:
            flower.terminate()
            flower.wait(timeout=10)


def get_json(url: str):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


def succeeded_in_flower(base: str, task_id: str) -> dict | None:
    task = (get_json(f"{base}/api/tasks") or {}).get(task_id)
    return task if task and task["state"] == "SUCCESS" else None
