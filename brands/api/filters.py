"""Creative filters. Unknown or malformed values answer 400 naming the parameter."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from brands.models import Creative
from brands.selectors import brand_roles_for_user


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(django_filters.Filter):
    field_class = forms.IntegerField


ROLE_CHOICES = [("primary", "Primary"), ("competitor", "Competitor"), ("followed", "Followed")]


class CreativeFilter(django_filters.FilterSet):
    brandspace = IntegerFilter(
        method="_applied_in_filter_queryset",
        min_value=1,
        help_text="Only the brands of this brandspace (yours; another organization's answers 404).",
    )
    role = django_filters.ChoiceFilter(
        choices=ROLE_CHOICES,
        method="_applied_in_filter_queryset",
        help_text="With `brandspace`: only its primary, competitor or followed brands.",
    )
    brand = IntegerFilter(field_name="brand_id", min_value=1)
    format = django_filters.ChoiceFilter(choices=Creative.Format.choices)
    platform = django_filters.CharFilter(method="filter_platform", max_length=40)
    active = django_filters.TypedChoiceFilter(
        field_name="is_active",
        choices=[("true", "true"), ("false", "false")],
        coerce=lambda value: value == "true",
        help_text="true or false",
    )
    min_days_running = IntegerFilter(field_name="days_running", lookup_expr="gte", min_value=0)
    seen_since = django_filters.DateFilter(field_name="last_seen_at", lookup_expr="date__gte")
    seen_until = django_filters.DateFilter(field_name="first_seen_at", lookup_expr="date__lte")
    q = django_filters.CharFilter(method="filter_text", max_length=200)

    class Meta:
        model = Creative
        fields: list[str] = []

    def _applied_in_filter_queryset(self, queryset, name, value):
        return queryset

    def filter_platform(self, queryset, name, value):
        return queryset.filter(platforms__contains=[value.strip().lower()])

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(body__icontains=value) | Q(title__icontains=value))

    def filter_queryset(self, queryset):
        data = self.form.cleaned_data
        since, until = data.get("seen_since"), data.get("seen_until")
        if since and until and since > until:
            raise ValidationError({"seen_since": ["seen_since must be on or before seen_until."]})
        if data.get("role") and not data.get("brandspace"):
            raise ValidationError({"role": ["Filtering by role needs a brandspace."]})
        if data.get("brandspace"):
            roles = brand_roles_for_user(self.request.user, data["brandspace"])
            # The serializer labels each creative with its brand's role in this brandspace.
            self.request.brand_roles = roles
            wanted = [b for b, r in roles.items() if data.get("role") in (None, "", r)]
            queryset = queryset.filter(brand_id__in=wanted)
        return super().filter_queryset(queryset)
