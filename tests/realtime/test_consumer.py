"""Tests 4-6 and coalescing: snapshot then live progress, revocation, garbage frames."""

from __future__ import annotations

import time

import pytest

from brands.models import Membership
from ingestion import signals
from ingestion.models import IngestionRun
from tests import factories
from tests.realtime.conftest import session_cookie_for, token_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    org = factories.OrganizationFactory()
    space = factories.BrandspaceFactory(organization=org)
    competitor = factories.TrackedBrandFactory(brandspace=space, role="competitor").brand
    return {"org": org, "space": space, "competitor": competitor, "user": factories.member(org)}


def _progress(run: IngestionRun, *, acquired: int, failed: int = 0) -> None:
    """What acquire_items does after each batch: fresh counters, then the signal."""
    IngestionRun.objects.filter(pk=run.pk).update(items_acquired=acquired, items_failed=failed)
    run.refresh_from_db()
    signals.run_progress.send(sender=IngestionRun, run=run)


def test_client_joining_mid_run_gets_the_snapshot_then_live_progress(open_socket, world):
    run = IngestionRun.objects.create(
        brand=world["competitor"], source="meta", status="acquiring", items_expected=40, items_acquired=12
    )
    socket = open_socket(token=token_for(world["user"]))
    snapshot = socket.recv()
    assert snapshot["type"] == "snapshot"
    [shown] = snapshot["payload"]["runs"]
    assert shown["run"] == run.pk and shown["role"] == "competitor"
    assert (shown["stage"], shown["done"], shown["total"]) == ("acquiring", 12, 40)

    _progress(run, acquired=20, failed=1)
    live = socket.recv()
    assert live["type"] == "run.progress" and live["brandspace"] == world["space"].pk
    assert (live["payload"]["done"], live["payload"]["failed"], live["payload"]["total"]) == (20, 1, 40)


def test_progress_is_coalesced_and_the_last_state_arrives(open_socket, world, settings):
    settings.REALTIME_PROGRESS_INTERVAL_SECONDS = 0.25
    run = IngestionRun.objects.create(
        brand=world["competitor"], source="meta", status="acquiring", items_expected=200
    )
    socket = open_socket(token=token_for(world["user"]))
    socket.recv()
    started = time.monotonic()
    for done in range(1, 201):  # 200 batches in a burst
        _progress(run, acquired=done)
    burst = time.monotonic() - started
    frames = [f for f in socket.quiet_for(1.5) if f["type"] == "run.progress"]
    done = [f["payload"]["done"] for f in frames]
    assert done == sorted(done) and done[-1] == 200  # the trailing event carries the last state
    assert len(frames) <= 2 + burst / 0.25 + 1, (len(frames), burst)


def test_revoked_membership_disconnects_within_a_second(open_socket, world):
    socket = open_socket(cookie=session_cookie_for(world["user"]))
    other = open_socket(token=token_for(factories.member(world["org"])))
    socket.recv()
    other.recv()
    Membership.objects.filter(user=world["user"]).delete()
    started = time.monotonic()
    assert socket.close_code(timeout=1) == 4403
    assert time.monotonic() - started < 1
    assert other.quiet_for(0.3) == []  # a colleague stays connected
    other.send({"action": "subscribe", "brandspace": world["space"].pk})
    assert other.recv()["type"] == "subscribed"


def test_deactivated_user_is_disconnected(open_socket, world):
    socket = open_socket(token=token_for(world["user"]))
    socket.recv()
    world["user"].is_active = False
    world["user"].save()
    assert socket.close_code(timeout=1) == 4403


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("this is not json", "invalid_json"),
        ("[1, 2, 3]", "unknown_action"),
        ('{"action": "explode", "brandspace": 1}', "unknown_action"),
        ('{"action": "subscribe", "brandspace": "1; drop table"}', "invalid_brandspace"),
        ('{"action": "subscribe", "brandspace": true}', "invalid_brandspace"),
        ("x" * 1_000_000, "too_large"),
        (b"\x00\xff binary", "invalid_json"),
    ],
)
def test_garbage_gets_an_error_and_harms_no_one(open_socket, world, frame, code):
    socket = open_socket(token=token_for(world["user"]))
    bystander = open_socket(token=token_for(factories.member(world["org"])))
    socket.recv()
    bystander.recv()

    socket.send(frame)
    error = socket.recv()
    assert error["type"] == "error" and error["payload"]["code"] == code

    # The socket is still up and subscribed, and the bystander hears events as before.
    run = IngestionRun.objects.create(brand=world["competitor"], source="meta", status="acquiring")
    _progress(run, acquired=1)
    for client in (socket, bystander):
        assert client.recv()["type"] == "run.progress"
