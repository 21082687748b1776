"""What every API client relies on: the error shape, throttling, the schema and docs, health
checks and request ids."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlparse

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from tests import factories

pytestmark = pytest.mark.django_db


def assert_error_shape(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "detail"}, body
    assert body["error"]["message"], body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/nothing-here/", "/api/brandspaces/1/nope/", "/api/v2/creatives/"])
def test_unknown_api_route_is_a_json_404(client_for, member, path):
    assert_error_shape(client_for(member).get(path), 404, "not_found")


def test_unknown_object_is_a_json_404(client_for, member):
    assert_error_shape(client_for(member).get("/api/brands/987654321/"), 404, "not_found")


def test_wrong_method_has_the_error_shape(client_for, member):
    assert_error_shape(client_for(member).delete("/api/brands/"), 405)


def test_malformed_json_has_the_error_shape(client_for, owner):
    response = client_for(owner).generic(
        "POST", "/api/brandspaces/", "{not json", content_type="application/json"
    )
    assert_error_shape(response, 400)


# --- throttling -------------------------------------------------------------------------


@pytest.fixture
def low_rates():
    cache.clear()
    with override_settings(ADOLOGY_THROTTLE_RATES={"anon": "2/min", "user": "3/min"}):
        yield
    cache.clear()


def test_anonymous_requests_are_throttled(low_rates, db):
    client = APIClient()
    answers = [
        client.post("/api/auth/token/", {"email": "a@example.com", "password": "x"}, format="json")
        for _ in range(3)
    ]
    assert [r.status_code for r in answers[:2]] == [400, 400]
    error = assert_error_shape(answers[2], 429, "throttled")
    assert error["detail"]["retry_after_seconds"] > 0
    assert int(answers[2]["Retry-After"]) > 0


def test_signed_in_requests_are_throttled_per_user(low_rates, org):
    first = factories.member(org)
    client = APIClient()
    client.force_authenticate(first)
    answers = [client.get("/api/me/") for _ in range(4)]
    assert [r.status_code for r in answers[:3]] == [200, 200, 200]
    assert_error_shape(answers[3], 429, "throttled")

    # Another user of the same organization has a budget of their own.
    second = APIClient()
    second.force_authenticate(factories.member(org))
    assert second.get("/api/me/").status_code == 200


# --- schema and docs ----------------------------------------------------------------------


def test_openapi_schema(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path in (
        "/api/creatives/",
        "/api/creatives/{id}/",
        "/api/brandspaces/",
        "/api/brandspaces/{id}/",
        "/api/brandspaces/{id}/brands/",
        "/api/brands/",
        "/api/me/",
        "/api/auth/token/",
    ):
        assert path in paths, sorted(paths)
    creative_params = {p["name"] for p in paths["/api/creatives/"]["get"]["parameters"]}
    assert {
        "brandspace",
        "brand",
        "role",
        "format",
        "platform",
        "active",
        "min_days_running",
        "seen_since",
        "seen_until",
        "q",
        "ordering",
        "cursor",
    } <= creative_params


def test_api_docs_describe_the_websocket_events(api):
    description = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["info"][
        "description"
    ]
    for event in ("run.queued", "run.progress", "run.committed", "run.finished", "creative.new", "4401"):
        assert event in description


def test_openapi_schema_as_json(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/creatives/" in response.json()["paths"]


def test_docs_page_needs_no_internet(api):
    response = api.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert references, html[:500]
    for ref in references:
        parsed = urlparse(ref)
        assert not parsed.scheme and not parsed.netloc, f"docs page loads {ref} from another host"
    # And the local assets it names exist.
    static_refs = [ref for ref in references if ref.startswith("/static/")]
    assert any(ref.endswith(".js") for ref in static_refs), static_refs
    for ref in static_refs:
        assert finders.find(ref.removeprefix("/static/")), f"{ref} is not a static file"
    # The schema it loads is ours, on this host.
    assert "/api/schema/" in html


# --- health -------------------------------------------------------------------------------


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_and_redis(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


def test_readyz_says_which_dependency_is_down(client, unused_port):
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{unused_port}/0"):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("error")


@pytest.fixture
def unused_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- request ids --------------------------------------------------------------------------


def test_request_id_is_echoed(client):
    sent = f"client-{uuid.uuid4().hex}"
    response = client.get("/healthz", HTTP_X_REQUEST_ID=sent)
    assert response["X-Request-ID"] == sent


def test_request_id_is_generated_when_missing(client, api):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert first and second and first != second
    # On API errors too.
    assert api.get("/api/brands/")["X-Request-ID"]


def test_unreasonable_request_id_is_replaced(client):
    sent = "x" * 500
    received = client.get("/healthz", HTTP_X_REQUEST_ID=sent)["X-Request-ID"]
    assert received and received != sent
    assert len(received) <= 64
