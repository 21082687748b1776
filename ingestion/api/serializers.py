from rest_framework import serializers

from brands.api.serializers import BrandRefSerializer
from brands.models import Source
from ingestion.models import IngestionRun


class RunSummarySerializer(serializers.ModelSerializer):
    brand = BrandRefSerializer(read_only=True)

    class Meta:
        model = IngestionRun
        fields = ["id", "brand", "source", "status"]


class RunSerializer(serializers.ModelSerializer):
    brand = BrandRefSerializer(read_only=True)
    counters = serializers.SerializerMethodField()
    timings = serializers.SerializerMethodField()
    failures = serializers.SerializerMethodField()

    class Meta:
        model = IngestionRun
        fields = ["id", "brand", "source", "status", "failure_reason", "counters", "timings", "failures"]

    def get_counters(self, run) -> dict:
        return {
            "expected": run.items_expected,
            "acquired": run.items_acquired,
            "failed": run.items_failed,
            "committed": run.creatives_committed,
        }

    def get_timings(self, run) -> dict:
        return {
            "queued_at": run.queued_at,
            "gathering_at": run.gathering_at,
            "acquiring_at": run.acquiring_at,
            "committing_at": run.committing_at,
            "analyzing_at": run.analyzing_at,
            "finished_at": run.finished_at,
            "duration_seconds": (run.finished_at - run.queued_at).total_seconds()
            if run.finished_at
            else None,
        }

    def get_failures(self, run) -> list[dict]:
        from ingestion.selectors import run_failures

        return run_failures(run)


class IngestInputSerializer(serializers.Serializer):
    brands = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=100
    )
    sources = serializers.ListField(
        child=serializers.ChoiceField(choices=[Source.META, Source.GOOGLE]), required=False, max_length=2
    )


class IngestResponseSerializer(serializers.Serializer):
    runs = RunSummarySerializer(many=True)


class FeedUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV or JSON Lines; columns documented in the README")


class FeedResponseSerializer(serializers.Serializer):
    runs = RunSummarySerializer(many=True)
    rows_accepted = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField())
