"""Thin views: parse, call a selector or service, shape the answer."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from brands import services
from brands.api.filters import CreativeFilter
from brands.api.pagination import CreativeCursorPagination
from brands.api.serializers import (
    BrandCreateSerializer,
    BrandSerializer,
    BrandspaceCreateSerializer,
    BrandspaceSerializer,
    BrandspaceUpdateSerializer,
    CreativeSerializer,
    TrackedBrandSerializer,
    TrackedBrandWriteSerializer,
)
from brands.exceptions import DomainError
from brands.selectors import (
    brand_search,
    brandspace_for_user,
    brandspaces_for_user,
    creative_list,
    membership_for_user,
)


class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        password = serializers.CharField(trim_whitespace=False)

    @extend_schema(
        request=InputSerializer,
        responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}),
        auth=[],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request, email=data.validated_data["email"].lower(), password=data.validated_data["password"]
        )
        if user is None:
            raise DomainError("Email or password is wrong, or the account is disabled.")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MeView(APIView):
    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "id": serializers.IntegerField(),
                "email": serializers.EmailField(),
                "full_name": serializers.CharField(),
                "organization": inline_serializer(
                    "MeOrganization",
                    {"id": serializers.IntegerField(), "name": serializers.CharField()},
                    allow_null=True,
                ),
                "role": serializers.CharField(allow_null=True),
            },
        )
    )
    def get(self, request):
        membership = membership_for_user(request.user)
        return Response(
            {
                "id": request.user.pk,
                "email": request.user.email,
                "full_name": request.user.full_name,
                "organization": {"id": membership.organization_id, "name": membership.organization.name}
                if membership
                else None,
                "role": membership.role if membership else None,
            }
        )


class BrandspaceViewSet(viewsets.ViewSet):
    """Your organization's brandspaces. Members read; owners and admins write."""

    serializer_class = BrandspaceSerializer

    def get_queryset(self):
        return brandspaces_for_user(self.request.user)

    def _detail(self, pk, status_code=status.HTTP_200_OK):
        return Response(
            BrandspaceSerializer(brandspace_for_user(self.request.user, pk)).data, status=status_code
        )

    def list(self, request):
        return Response(BrandspaceSerializer(self.get_queryset(), many=True).data)

    def retrieve(self, request, pk=None):
        return self._detail(pk)

    @extend_schema(request=BrandspaceCreateSerializer, responses={201: BrandspaceSerializer})
    def create(self, request):
        data = BrandspaceCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        brandspace = services.brandspace_create(
            user=request.user,
            name=data.validated_data["name"],
            primary_brand=data.validated_data["primary_brand"],
            tracked=data.validated_data.get("tracked_brands", []),
        )
        return self._detail(brandspace.pk, status.HTTP_201_CREATED)

    @extend_schema(request=BrandspaceUpdateSerializer, responses=BrandspaceSerializer)
    def update(self, request, pk=None):
        return self.partial_update(request, pk)

    @extend_schema(request=BrandspaceUpdateSerializer, responses=BrandspaceSerializer)
    def partial_update(self, request, pk=None):
        # Resolve tenancy before validating the body: another org's brandspace is a 404.
        brandspace_for_user(request.user, pk)
        data = BrandspaceUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.brandspace_update(user=request.user, brandspace_id=pk, **data.validated_data)
        return self._detail(pk)

    def destroy(self, request, pk=None):
        services.brandspace_delete(user=request.user, brandspace_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=TrackedBrandWriteSerializer, responses={201: TrackedBrandSerializer})
    @action(detail=True, methods=["post"], url_path="brands")
    def add_brand(self, request, pk=None):
        brandspace_for_user(request.user, pk)
        data = TrackedBrandWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tracked = services.tracked_brand_add(user=request.user, brandspace_id=pk, **data.validated_data)
        return Response(TrackedBrandSerializer(tracked).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"brands/(?P<brand_id>\d+)")
    def remove_brand(self, request, pk=None, brand_id=None):
        services.tracked_brand_remove(user=request.user, brandspace_id=pk, brand_id=int(brand_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BrandViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The shared brand catalog. Everyone signed in reads; owners and admins add brands."""

    serializer_class = BrandSerializer

    def get_queryset(self):
        return brand_search(q=self.request.query_params.get("q", ""))

    @extend_schema(parameters=[OpenApiParameter("q", str, description="Text in the name or a domain")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=BrandCreateSerializer, responses={201: BrandSerializer})
    def create(self, request):
        services.require_writer(request.user)
        data = BrandCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        brand = services.brand_create(user=request.user, **data.validated_data)
        return Response(BrandSerializer(brand).data, status=status.HTTP_201_CREATED)


class CreativeViewSet(viewsets.ReadOnlyModelViewSet):
    """Every tracked brand's ads. Filter by brandspace to see one market, with roles."""

    serializer_class = CreativeSerializer
    filterset_class = CreativeFilter
    pagination_class = CreativeCursorPagination

    def get_queryset(self):
        return creative_list()
