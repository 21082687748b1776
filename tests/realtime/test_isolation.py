"""Test 2: an organization hears only about its own brandspaces, each with its own roles.

Events are produced the way the pipeline produces them: by its after-commit signals.
"""

from __future__ import annotations

import pytest

from brands.models import CreativeMediaLink, Membership
from ingestion import signals
from ingestion.models import IngestionRun
from tests import factories
from tests.realtime.conftest import token_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_orgs():
    shared = factories.BrandFactory(name="Shared Co")
    org_a, org_b = factories.OrganizationFactory(), factories.OrganizationFactory()
    space_a = factories.BrandspaceFactory(organization=org_a)
    space_b = factories.BrandspaceFactory(organization=org_b)
    factories.TrackedBrandFactory(brandspace=space_a, brand=shared, role="competitor")
    factories.TrackedBrandFactory(brandspace=space_b, brand=shared, role="followed")
    return {
        "shared": shared,
        "a": {"space": space_a, "user": factories.member(org_a, Membership.Role.OWNER)},
        "b": {"space": space_b, "user": factories.member(org_b, Membership.Role.OWNER)},
    }


def _commit(brand, count: int, source: str = "meta") -> tuple[IngestionRun, list[int]]:
    run = IngestionRun.objects.create(brand=brand, source=source, status=IngestionRun.Status.ANALYZING)
    ids = []
    for _ in range(count):
        creative = factories.CreativeFactory(brand=brand)
        CreativeMediaLink.objects.create(
            creative=creative, media=factories.CreativeMediaFactory(), position=0
        )
        ids.append(creative.pk)
    signals.run_committed.send(sender=IngestionRun, run=run, new_creative_ids=ids, updated_creative_ids=[])
    return run, ids


def _creatives(frames: list[dict]) -> list[dict]:
    return [f for f in frames if f["type"] == "creative.new"]


def test_each_org_gets_a_shared_brands_ads_through_its_own_brandspace_only(open_socket, two_orgs):
    a = open_socket(token=token_for(two_orgs["a"]["user"]))
    b = open_socket(token=token_for(two_orgs["b"]["user"]))
    assert a.recv()["type"] == b.recv()["type"] == "snapshot"

    _, ids = _commit(two_orgs["shared"], 2)
    got_a = a.quiet_for(1.5)
    got_b = b.quiet_for(1.5)

    for frames, side, role in ((got_a, "a", "competitor"), (got_b, "b", "followed")):
        new = _creatives(frames)
        assert [f["payload"]["id"] for f in new] == ids
        assert {f["brandspace"] for f in frames} == {two_orgs[side]["space"].pk}
        assert {f["payload"]["role"] for f in new} == {role}
        assert all(f["payload"]["thumbnail_url"] for f in new)
        assert all(f["payload"]["format"] == "image" for f in new)
        committed = [f for f in frames if f["type"] == "run.committed"]
        assert len(committed) == 1 and committed[0]["payload"]["new"] == 2


def test_other_orgs_private_brand_is_never_heard_nor_subscribable(open_socket, two_orgs):
    b = open_socket(token=token_for(two_orgs["b"]["user"]))
    b.recv()
    private_a = two_orgs["a"]["space"]

    b.send({"action": "subscribe", "brandspace": private_a.pk})
    error = b.recv()
    assert error["type"] == "error" and error["payload"]["code"] == "not_found"

    # A's primary brand is tracked by A alone: B must not hear of its run.
    _commit(private_a.primary_brand, 1)
    assert b.quiet_for(1.5) == []

    # B's socket is still up and still hears its own brandspace.
    _commit(two_orgs["shared"], 1, source="google")
    assert {f["brandspace"] for f in b.quiet_for(1.5)} == {two_orgs["b"]["space"].pk}


def test_unsubscribe_then_subscribe_again(open_socket, two_orgs):
    a = open_socket(token=token_for(two_orgs["a"]["user"]))
    a.recv()
    space = two_orgs["a"]["space"]
    a.send({"action": "unsubscribe", "brandspace": space.pk})
    assert a.recv()["type"] == "unsubscribed"
    _commit(two_orgs["shared"], 1)
    assert a.quiet_for(1.0) == []

    a.send({"action": "subscribe", "brandspace": space.pk})
    assert a.recv()["type"] == "subscribed"
    snapshot = a.recv()
    assert snapshot["type"] == "snapshot" and len(snapshot["payload"]["runs"]) == 1  # still analyzing
    _commit(two_orgs["shared"], 1, source="google")
    assert len(_creatives(a.quiet_for(1.5))) == 1
