"""SQS administration: the pipeline's queues, their dead-letter queues, and dead letters.

Celery never creates SQS queues (they are predefined in celeryconfig, at the URLs it builds);
`ensure_queues` does, with the attributes celeryconfig asks for:
- a dead-letter queue `<queue>-dlq` for every queue, keeping messages 14 days (the maximum,
  so ops have time to look);
- on the queue: VisibilityTimeout (above its tasks' hard time limit) and a RedrivePolicy that
  moves a message to the dead-letter queue after maxReceiveCount receives.
It is idempotent: a second run creates nothing, and puts back any attribute that drifted.

Every SQS call goes through `external_call`. The environment (`environ`) is the one Celery
reads (SQS_QUEUE_PREFIX, AWS_ENDPOINT_URL, AWS_DEFAULT_REGION, AWS_ACCOUNT_ID,
SQS_MAX_RECEIVE_COUNT); credentials come from boto3's usual chain.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import boto3

import celeryconfig
from adology.logging import external_call

DLQ_RETENTION_SECONDS = 14 * 24 * 3600
# While `list_dead_letters` reads a dead-letter queue, the messages it has seen stay hidden so
# the next receive returns others; it makes them visible again when done.
LIST_HIDE_SECONDS = 30
# A redriven message is hidden this long in the dead-letter queue between being received and
# being deleted there, so a crash mid-redrive leaves it in the dead-letter queue, not lost.
REDRIVE_HIDE_SECONDS = 60


class QueueSetupError(Exception):
    """SQS disagrees with celeryconfig (e.g. a queue URL other than the one Celery uses)."""


class UnknownQueueError(Exception):
    pass


@dataclass(frozen=True)
class QueueStatus:
    queue: str  # Celery queue name
    sqs_name: str
    action: str  # "created", "verified" or "fixed"
    dlq_action: str
    visibility_timeout: int
    max_receive_count: int
    messages: int
    dead_letters: int


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    task_id: str
    task_name: str
    args: str
    receive_count: int


@dataclass
class DeadLetterReport:
    queue: str
    dlq_name: str
    count: int
    messages: list[DeadLetter] = field(default_factory=list)


def sqs_client(*, environ: Mapping[str, str] | None = None):
    environ = os.environ if environ is None else environ
    return boto3.client(
        "sqs",
        region_name=environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        endpoint_url=environ.get("AWS_ENDPOINT_URL") or None,
    )


def _queue_plan(environ: Mapping[str, str] | None) -> list[celeryconfig.SqsQueue]:
    return celeryconfig.sqs_queues(os.environ if environ is None else environ)


def _find(queue: str, environ: Mapping[str, str] | None) -> celeryconfig.SqsQueue:
    plan = {q.name: q for q in _queue_plan(environ)}
    if queue not in plan:
        raise UnknownQueueError(f"Unknown queue {queue!r}; queues: {', '.join(plan)}.")
    return plan[queue]


def _get_url(client, name: str) -> str | None:
    # ListQueues rather than GetQueueUrl: a missing queue is an answer here, not an error.
    with external_call("sqs", "list_queues", prefix=name):
        urls = client.list_queues(QueueNamePrefix=name).get("QueueUrls", [])
    return next((url for url in urls if url.rsplit("/", 1)[-1] == name), None)


def _attributes(client, url: str, names: list[str]) -> dict[str, str]:
    with external_call("sqs", "get_queue_attributes", queue_url=url):
        return client.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]


def _ensure_queue(client, *, name: str, expected_url: str, attributes: dict[str, str]) -> tuple[str, str]:
    """Create the queue with `attributes`, or put back those that differ. Returns (url, action)."""
    url = _get_url(client, name)
    if url is None:
        with external_call("sqs", "create_queue", queue=name):
            url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        action = "created"
    else:
        current = _attributes(client, url, list(attributes))
        drifted = {k: v for k, v in attributes.items() if not _same_attribute(k, current.get(k), v)}
        action = "verified"
        if drifted:
            with external_call("sqs", "set_queue_attributes", queue=name, attributes=sorted(drifted)):
                client.set_queue_attributes(QueueUrl=url, Attributes=drifted)
            action = "fixed"
    if url != expected_url:
        raise QueueSetupError(
            f"SQS serves {name} at {url}, but Celery is configured for {expected_url}: "
            "check AWS_ACCOUNT_ID, AWS_DEFAULT_REGION and AWS_ENDPOINT_URL."
        )
    return url, action


def _same_attribute(key: str, current: str | None, wanted: str) -> bool:
    if current is None:
        return False
    if key == "RedrivePolicy":
        # SQS may give maxReceiveCount back as a number or a string.
        a, b = json.loads(current), json.loads(wanted)
        return a.get("deadLetterTargetArn") == b.get("deadLetterTargetArn") and str(
            a.get("maxReceiveCount")
        ) == str(b.get("maxReceiveCount"))
    return str(current) == str(wanted)


def ensure_queues(*, environ: Mapping[str, str] | None = None, client=None) -> list[QueueStatus]:
    """Create or verify every Celery queue and its dead-letter queue (idempotent)."""
    client = client or sqs_client(environ=environ)
    statuses = []
    for q in _queue_plan(environ):
        dlq_url, dlq_action = _ensure_queue(
            client,
            name=q.dlq_name,
            expected_url=q.dlq_url,
            attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)},
        )
        dlq_arn = _attributes(client, dlq_url, ["QueueArn"])["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": q.max_receive_count})
        url, action = _ensure_queue(
            client,
            name=q.sqs_name,
            expected_url=q.url,
            attributes={"VisibilityTimeout": str(q.visibility_timeout), "RedrivePolicy": redrive},
        )
        statuses.append(
            QueueStatus(
                queue=q.name,
                sqs_name=q.sqs_name,
                action=action,
                dlq_action=dlq_action,
                visibility_timeout=q.visibility_timeout,
                max_receive_count=q.max_receive_count,
                messages=_count(client, url),
                dead_letters=_count(client, dlq_url),
            )
        )
    return statuses


def _count(client, url: str) -> int:
    attrs = _attributes(client, url, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return int(attrs.get("ApproximateNumberOfMessages", 0)) + int(
        attrs.get("ApproximateNumberOfMessagesNotVisible", 0)
    )


def _decode_celery_message(body: str) -> dict:
    """The kombu envelope of a Celery message (kombu base64-encodes it on SQS by default)."""
    try:
        text = base64.b64decode(body, validate=True).decode()
    except (binascii.Error, ValueError):
        text = body
    try:
        envelope = json.loads(text)
    except ValueError:
        return {}
    return envelope if isinstance(envelope, dict) else {}


def _dead_letter(message: dict) -> DeadLetter:
    headers = _decode_celery_message(message["Body"]).get("headers") or {}
    return DeadLetter(
        message_id=message["MessageId"],
        task_id=str(headers.get("id") or ""),
        task_name=str(headers.get("task") or "(not a Celery task)"),
        args=str(headers.get("argsrepr") or "")[:120],
        receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
    )


def _receive(client, url: str, *, hide_seconds: int) -> list[dict]:
    with external_call("sqs", "receive_message", queue_url=url):
        return client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=hide_seconds,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])


def list_dead_letters(
    *, queue: str, environ: Mapping[str, str] | None = None, client=None, limit: int = 100
) -> DeadLetterReport:
    """The dead letters of one Celery queue, up to `limit` of them, left in place.

    Reading an SQS message is receiving it, so each listing adds one to the receive count
    shown (SQS keeps the count a message had on its source queue).
    """
    q = _find(queue, environ)
    client = client or sqs_client(environ=environ)
    report = DeadLetterReport(queue=queue, dlq_name=q.dlq_name, count=_count(client, q.dlq_url))
    seen: list[dict] = []
    try:
        while len(seen) < limit:
            batch = _receive(client, q.dlq_url, hide_seconds=LIST_HIDE_SECONDS)
            if not batch:
                break
            seen.extend(batch)
    finally:
        # Visible again at once: listing must not hide dead letters from a redrive.
        for message in seen:
            with external_call("sqs", "change_message_visibility", queue_url=q.dlq_url):
                client.change_message_visibility(
                    QueueUrl=q.dlq_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
    report.messages = [_dead_letter(m) for m in seen[:limit]]
    return report


def redrive(
    *, queue: str, environ: Mapping[str, str] | None = None, client=None, limit: int | None = None
) -> int:
    """Move dead letters back to their source queue; returns how many moved.

    Receive, send, delete, in batches of 10: SQS's StartMessageMoveTask does this server-side,
    but moto does not implement it, and this loop works on both. A message is deleted from the
    dead-letter queue only after its copy was sent, so a crash can duplicate it (SQS delivers at
    least once anyway; tasks are idempotent) but never lose it. The copy starts with a receive
    count of 0, so it gets maxReceiveCount fresh attempts.
    """
    q = _find(queue, environ)
    client = client or sqs_client(environ=environ)
    moved = 0
    while limit is None or moved < limit:
        batch = _receive(client, q.dlq_url, hide_seconds=REDRIVE_HIDE_SECONDS)
        if limit is not None:
            batch = batch[: limit - moved]
        if not batch:
            break
        entries = []
        for i, message in enumerate(batch):
            entry = {"Id": str(i), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        with external_call("sqs", "send_message_batch", queue_url=q.url, count=len(entries)):
            sent = client.send_message_batch(QueueUrl=q.url, Entries=entries)
        sent_ids = {s["Id"] for s in sent.get("Successful", [])}
        to_delete = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(batch)
            if str(i) in sent_ids
        ]
        if to_delete:
            with external_call("sqs", "delete_message_batch", queue_url=q.dlq_url, count=len(to_delete)):
                client.delete_message_batch(QueueUrl=q.dlq_url, Entries=to_delete)
        moved += len(to_delete)
        if sent.get("Failed"):
            failures = "; ".join(f"{f.get('Code')}: {f.get('Message')}" for f in sent["Failed"])
            raise QueueSetupError(f"SQS refused to send {len(sent['Failed'])} message(s): {failures}")
    return moved
