from django.contrib import admin

from brands.admin import ReadOnlyAdmin
from ingestion.models import IngestionRun


@admin.register(IngestionRun)
class IngestionRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "brand",
        "source",
        "status",
        "items_expected",
        "items_acquired",
        "items_failed",
        "creatives_committed",
        "queued_at",
        "finished_at",
    ]
    list_filter = ["status", "source"]
    list_select_related = ["brand", "requested_by"]
    search_fields = ["brand__name", "failure_reason", "requested_by__email"]
    date_hierarchy = "queued_at"
