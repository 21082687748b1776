"""MongoDB: raw source payloads and AI analysis documents (variable shape).

Writes are idempotent upserts keyed by source ad id or creative id, so a retried task
never duplicates a document.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from pymongo import ASCENDING, MongoClient
from pymongo.collection import Collection

RAW_ADS = "raw_ads"
ANALYSES = "analyses"

_INDEXES = {
    RAW_ADS: [([("source", ASCENDING), ("source_ad_id", ASCENDING)], {"unique": True})],
    ANALYSES: [([("creative_id", ASCENDING), ("provider", ASCENDING)], {"unique": True})],
}


@cache
def _client(url: str) -> MongoClient:
    # A keyword would override the URL, so the 5 s default applies only when the URL names none
    # (MONGO_URL=...?serverSelectionTimeoutMS=1000 shortens how long a page waits for a down Mongo).
    options = {} if "serverselectiontimeoutms=" in url.lower() else {"serverSelectionTimeoutMS": 5000}
    return MongoClient(url, tz_aware=True, appname="adology", **options)


@cache
def _indexed(url: str, name: str) -> bool:
    collection = _client(url).get_default_database(default="adology")[name]
    for keys, options in _INDEXES.get(name, []):
        collection.create_index(keys, **options)
    return True


def collection(name: str) -> Collection:
    url = settings.MONGO_URL
    _indexed(url, name)
    return _client(url).get_default_database(default="adology")[name]
