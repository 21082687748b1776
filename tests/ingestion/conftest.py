"""Fixtures for pipeline tests: the sample source over HTTP, S3 at moto, MongoDB wire server.

`pipeline` runs Celery tasks in-process (eager) against those real servers, so a test
drives gather -> chord(acquire_batch) -> commit_run -> ai_phase end to end and can
replay any message by calling a task again, as a redelivery would.
"""

from __future__ import annotations

import uuid

import boto3
import pytest

from adology.celery import app as celery_app
from brands.models import Membership
from ingestion.sources.sample import SAMPLE_ACCESS_TOKEN, SAMPLE_API_KEY, SampleServer, start_sample_server
from tests import factories


@pytest.fixture
def sample_server():
    server, _ = start_sample_server(ads_per_brand=18, page_size=6)
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(moto_server, settings):
    bucket = f"adology-test-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1").create_bucket(Bucket=bucket)
    settings.AWS_STORAGE_BUCKET_NAME = bucket
    settings.AWS_S3_ENDPOINT_URL = moto_server
    settings.AWS_S3_REGION_NAME = "us-east-1"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}
    return bucket


def s3_keys(moto_server: str, bucket: str) -> list[str]:
    client = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [obj["Key"] for obj in page.get("Contents", [])]
    return keys


@pytest.fixture
def eager_celery():
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    # Not propagating: an eager retry runs at once and then raises Retry, which would escape
    # the chord; tests assert on the run's recorded outcome instead.
    celery_app.conf.task_eager_propagates = False
    yield celery_app
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture
def source_settings(settings, sample_server, mongo_url):
    settings.META_GRAPH_URL = sample_server.base_url
    settings.META_ACCESS_TOKEN = SAMPLE_ACCESS_TOKEN
    settings.SERPAPI_URL = sample_server.base_url
    settings.SERPAPI_API_KEY = SAMPLE_API_KEY
    settings.SOURCE_BACKOFF_BASE_S = 0.01
    settings.SOURCE_BACKOFF_MAX_S = 0.05
    settings.MONGO_URL = mongo_url
    settings.MEDIA_READ_TIMEOUT = 1.0
    settings.ACQUIRE_BATCH_SIZE = 5
    settings.ACQUIRE_MAX_RETRIES = 1
    settings.ACQUIRE_RETRY_BASE_SECONDS = 0.01
    settings.ACQUIRE_RETRY_CAP_SECONDS = 0.02
    return settings


@pytest.fixture
def pipeline(transactional_db, source_settings, s3_bucket, eager_celery):
    """Everything a run needs, with tasks executed in-process."""
    return source_settings


@pytest.fixture
def tracked_world(transactional_db):
    """An organization whose brandspace's primary brand has a Meta page id and a Google id."""
    org = factories.OrganizationFactory()
    owner = factories.member(org, Membership.Role.OWNER)
    space = factories.BrandspaceFactory(organization=org)
    brand = space.primary_brand
    factories.BrandIdentityFactory(brand=brand, source="meta", external_id="200000000000001")
    factories.BrandIdentityFactory(brand=brand, source="google", external_id="AR20000000000000000001")
    return {"org": org, "owner": owner, "brandspace": space, "brand": brand}


__all__ = ["SampleServer", "s3_keys"]
