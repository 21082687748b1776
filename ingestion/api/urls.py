from django.urls import path

from ingestion.api import views

urlpatterns = [
    path("brandspaces/<int:brandspace_id>/ingest", views.IngestView.as_view(), name="brandspace-ingest"),
    path("brandspaces/<int:brandspace_id>/feeds/", views.FeedUploadView.as_view(), name="brandspace-feeds"),
    path("ingestion-runs/<int:run_id>/", views.RunDetailView.as_view(), name="run-detail"),
    path("ingestion-runs/<int:run_id>/cancel", views.RunCancelView.as_view(), name="run-cancel"),
]
