"""The project's URLs plus the baseline page the API is measured against."""

from django.urls import include, path

from bench.baseline import baseline_creatives

urlpatterns = [
    path("bench/baseline/creatives/", baseline_creatives, name="bench-baseline-creatives"),
    path("", include("adology.urls")),
]
