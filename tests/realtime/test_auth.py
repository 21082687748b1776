"""Test 1: who may open /ws/. No credentials, a bad token or a foreign Origin: refused."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus

from brands.models import Membership
from tests import factories
from tests.realtime.conftest import ALLOWED_ORIGIN_HOST, session_cookie_for, token_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    org = factories.OrganizationFactory()
    user = factories.member(org, Membership.Role.MEMBER)
    space = factories.BrandspaceFactory(organization=org)
    return {"user": user, "brandspace": space}


def test_no_credentials_is_refused_with_4401(open_socket, world):
    assert open_socket().close_code() == 4401


def test_bad_token_is_refused_with_4401(open_socket, world):
    assert open_socket(token="0" * 40).close_code() == 4401
    assert open_socket(subprotocols=["adology.v1", "token." + "0" * 40]).close_code() == 4401


def test_deactivated_users_token_is_refused(open_socket, world):
    token = token_for(world["user"])
    world["user"].is_active = False
    world["user"].save()
    assert open_socket(token=token).close_code() == 4401


def test_user_without_organization_is_refused_with_4403(open_socket, db):
    loner = factories.UserFactory()
    assert open_socket(token=token_for(loner)).close_code() == 4403


def test_token_in_query_is_accepted_and_gets_the_snapshot(open_socket, world):
    socket = open_socket(token=token_for(world["user"]))
    snapshot = socket.recv()
    assert snapshot["type"] == "snapshot"
    assert snapshot["brandspace"] == world["brandspace"].pk
    assert snapshot["version"] == 1 and snapshot["payload"] == {"runs": []}


def test_token_as_subprotocol_is_accepted_and_not_echoed(open_socket, world):
    token = token_for(world["user"])
    socket = open_socket(subprotocols=["adology.v1", f"token.{token}"])
    assert socket.ws.subprotocol == "adology.v1"
    assert socket.recv()["type"] == "snapshot"


def test_session_cookie_is_accepted_from_an_allowed_origin(open_socket, world):
    socket = open_socket(cookie=session_cookie_for(world["user"]), origin=f"https://{ALLOWED_ORIGIN_HOST}")
    assert socket.recv()["brandspace"] == world["brandspace"].pk


def test_a_foreign_origin_is_refused_even_with_a_valid_session(open_socket, world):
    with pytest.raises(InvalidStatus) as refused:
        open_socket(cookie=session_cookie_for(world["user"]), origin="https://evil.example")
    assert refused.value.response.status_code == 403
