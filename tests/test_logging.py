"""Logging a person can rely on: one line per outside call with its outcome, JSON in production."""

import json
import logging

import pytest

from adology.logging import JsonFormatter, RequestIdFilter, external_call, request_id_var


def test_external_call_logs_target_operation_duration_and_outcome(caplog):
    caplog.set_level(logging.INFO, logger="adology.external")
    with external_call("s3", "put_object", key="media/ab/cd.jpg"):
        pass
    with pytest.raises(TimeoutError), external_call("meta", "ads_archive", page=2):
        raise TimeoutError("read timed out")
    ok, failed = caplog.records
    assert (ok.target, ok.operation, ok.outcome, ok.key) == ("s3", "put_object", "ok", "media/ab/cd.jpg")
    assert ok.duration_ms >= 0
    assert (failed.target, failed.outcome, failed.page) == ("meta", "error", 2)
    assert failed.error == "TimeoutError: read timed out" and failed.levelno == logging.WARNING


def test_json_lines_carry_the_request_id_and_extra_fields():
    record = logging.makeLogRecord({"name": "x", "levelname": "INFO", "msg": "hello", "run_id": 7})
    token = request_id_var.set("req-123")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello" and line["request_id"] == "req-123" and line["run_id"] == 7
