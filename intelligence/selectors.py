"""Reads of the AI phase's results."""

from __future__ import annotations

import logging

from pymongo.errors import PyMongoError

from adology import mongo
from adology.logging import external_call

logger = logging.getLogger(__name__)


class AnalysisUnavailable(Exception):
    """The analysis store could not be read; the caller shows the ad without it."""


def analyses_for_creative(creative_id: int) -> list[dict]:
    """Every provider's analysis document of one creative, newest first."""
    try:
        with external_call("mongo", "analyses.find", creative_id=creative_id):
            documents = list(
                mongo.collection(mongo.ANALYSES)
                .find({"creative_id": creative_id}, {"_id": False})
                .sort("analyzed_at", -1)
            )
    except PyMongoError as error:
        raise AnalysisUnavailable(str(error)) from error
    return documents
