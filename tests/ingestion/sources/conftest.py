"""Source adapters against the sample server: real HTTP on 127.0.0.1, Meta and SerpApi shapes."""

import datetime as dt

import pytest

from ingestion.sources.sample import SAMPLE_ACCESS_TOKEN, SAMPLE_API_KEY, start_sample_server
from tests import factories

TODAY = dt.date.today()  # the adapters judge "still running" against the real date


@pytest.fixture(autouse=True)
def fast_retries(settings):
    """Backoff in tens of milliseconds, so waiting out a rate limit costs the tests little."""
    settings.SOURCE_BACKOFF_BASE_S = 0.05
    settings.SOURCE_BACKOFF_MAX_S = 0.2
    settings.SOURCE_MAX_ATTEMPTS = 3
    settings.SOURCE_RATE_LIMIT_MAX_ATTEMPTS = 5
    settings.SOURCE_CONNECT_TIMEOUT_S = 2.0
    settings.SOURCE_READ_TIMEOUT_S = 2.0


@pytest.fixture
def start_server():
    """Start a sample server (keyword arguments as `start_sample_server`); stopped after the test."""
    servers = []

    def start(**options):
        options.setdefault("today", TODAY)
        options.setdefault("names", {})
        server, _ = start_sample_server(**options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def sample_server(start_server):
    return start_server(ads_per_brand=12, page_size=5)


@pytest.fixture
def use_server(settings):
    """Point both adapters' settings at `server`."""

    def use(server):
        settings.META_GRAPH_URL = server.base_url + "/v21.0"
        settings.META_ACCESS_TOKEN = SAMPLE_ACCESS_TOKEN
        settings.SERPAPI_URL = server.base_url
        settings.SERPAPI_API_KEY = SAMPLE_API_KEY
        return server

    return use


@pytest.fixture
def brand_with(db):
    """A brand with the given Meta page ids and Google advertiser ids."""

    def make(*, meta=(), google=()):
        brand = factories.BrandFactory()
        for page_id in meta:
            factories.BrandIdentityFactory(brand=brand, source="meta", external_id=page_id)
        for advertiser_id in google:
            factories.BrandIdentityFactory(brand=brand, source="google", external_id=advertiser_id)
        return brand

    return make


def archive_requests(server):
    return [query for path, query in server.requests if path.endswith("/ads_archive")]


def search_requests(server):
    return [query for path, query in server.requests if path == "/search.json"]
