from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from brands.exceptions import DomainError
from ingestion import services
from ingestion.api.serializers import (
    FeedResponseSerializer,
    FeedUploadSerializer,
    IngestInputSerializer,
    IngestResponseSerializer,
    RunSerializer,
    RunSummarySerializer,
)
from ingestion.selectors import run_for_user


class IngestView(APIView):
    """Start ingestion runs for a brandspace's brands. Answers 202 at once; poll the runs."""

    @extend_schema(
        request=IngestInputSerializer,
        responses={202: IngestResponseSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    )
    def post(self, request, brandspace_id: int):
        data = IngestInputSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        runs = services.ingest_request(
            user=request.user,
            brandspace_id=brandspace_id,
            brand_ids=data.validated_data.get("brands"),
            sources=data.validated_data.get("sources"),
            idempotency_key=request.headers.get("Idempotency-Key", "")[:200],
        )
        return Response({"runs": RunSummarySerializer(runs, many=True).data}, status=status.HTTP_202_ACCEPTED)


class FeedUploadView(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        request={"multipart/form-data": FeedUploadSerializer}, responses={202: FeedResponseSerializer}
    )
    def post(self, request, brandspace_id: int):
        upload = request.FILES.get("file")
        if upload is None:
            raise DomainError("Attach the feed as a multipart field named 'file'.", field="file")
        if upload.size > settings.FEED_MAX_BYTES:
            raise DomainError(
                f"The file is {upload.size:,} bytes; a feed may be at most {settings.FEED_MAX_BYTES:,}.",
                field="file",
            )
        result = services.feed_ingest(
            user=request.user, brandspace_id=brandspace_id, file_bytes=upload.read(), filename=upload.name
        )
        return Response(
            {
                "runs": RunSummarySerializer(result["runs"], many=True).data,
                "rows_accepted": result["rows_accepted"],
                "errors": result["errors"],
            },
            status=status.HTTP_202_ACCEPTED,
        )


class RunDetailView(APIView):
    @extend_schema(responses=RunSerializer)
    def get(self, request, run_id: int):
        return Response(RunSerializer(run_for_user(request.user, run_id)).data)


class RunCancelView(APIView):
    @extend_schema(request=None, responses=RunSerializer)
    def post(self, request, run_id: int):
        return Response(RunSerializer(services.run_cancel(user=request.user, run_id=run_id)).data)
