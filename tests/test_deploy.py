"""The image serves the app as make run, the tests and the benchmarks do."""

import json
import re
from pathlib import Path

from adology.asgi_server import UVICORN_OPTIONS

ROOT = Path(__file__).resolve().parent.parent


def test_the_dockerfile_serves_with_the_measured_uvicorn_options():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    command = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1))
    assert command[:2] == ["uvicorn", "adology.asgi:application"]
    options = command[2:]
    for name, value in zip(UVICORN_OPTIONS[::2], UVICORN_OPTIONS[1::2], strict=True):
        assert name in options, f"deploy/Dockerfile's CMD lacks {name}"
        assert options[options.index(name) + 1] == value, f"deploy/Dockerfile's CMD: {name} is not {value}"
