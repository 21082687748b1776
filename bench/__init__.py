"""Benchmarks. Run them from the project root, e.g. `.venv/bin/python bench/api_list.py`."""
