"""Keyset (cursor) paging for the creatives explorer.

DRF's CursorPagination keeps only the first ordering field in its cursor and breaks ties
with an offset capped at 1,000, which loops when more than 1,000 ads share a value (every
new ad has days_running 0). Here the cursor holds the pair (value, id) and the next page
is `WHERE (value, id) < (v, i)`: stable while new ads arrive at the top, any tie size,
one index range scan per page.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections import OrderedDict

from django.db.models import Q
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

# name -> (field, kind); both orderings are descending, ties broken by id descending.
ORDERINGS = {
    "newest": ("first_seen_at", "datetime"),
    "longest_running": ("days_running", "int"),
}


def _encode(value, pk: int, reverse: bool) -> str:
    raw = json.dumps([value.isoformat() if isinstance(value, dt.datetime) else value, pk, int(reverse)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, kind: str):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk, reverse = json.loads(raw)
        value = dt.datetime.fromisoformat(value) if kind == "datetime" else int(value)
        return value, int(pk), bool(reverse)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise ValidationError({"cursor": ["This cursor is not valid; start again without it."]}) from None


class CreativeCursorPagination(BasePagination):
    page_size = 50
    max_page_size = 200
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def _page_size(self, params) -> int:
        raw = params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({"page_size": [f"Use a whole number from 1 to {self.max_page_size}."]})
        return size

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        return self.paginate(queryset, request.query_params)

    def paginate(self, queryset, params) -> list:
        """One page for these query parameters (ordering, cursor, page_size); the dashboard
        calls this directly with its own parameters."""
        name = params.get("ordering", "newest")
        if name not in ORDERINGS:
            raise ValidationError({"ordering": [f"Use one of: {', '.join(ORDERINGS)}."]})
        self.field, kind = ORDERINGS[name]
        size = self._page_size(params)
        cursor = params.get(self.cursor_query_param)
        reverse = False
        if cursor:
            value, pk, reverse = _decode(cursor, kind)
            # The plain bound (value <= v) is redundant with the pair condition, but PostgreSQL can
            # use it as an index condition, so a deep page starts its scan at the cursor.
            if reverse:  # the page before (value, pk): walk upwards, then flip
                queryset = queryset.filter(**{f"{self.field}__gte": value}).filter(
                    Q(**{f"{self.field}__gt": value}) | Q(**{self.field: value, "pk__gt": pk})
                )
            else:
                queryset = queryset.filter(**{f"{self.field}__lte": value}).filter(
                    Q(**{f"{self.field}__lt": value}) | Q(**{self.field: value, "pk__lt": pk})
                )
        order = (self.field, "pk") if reverse else (f"-{self.field}", "-pk")
        rows = list(queryset.order_by(*order)[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        if reverse:
            rows.reverse()
        self.has_next = more if not reverse else True
        self.has_previous = bool(cursor) and (more if reverse else True)
        self.rows = rows
        return rows

    def _link(self, row, reverse: bool) -> str:
        url = self.request.build_absolute_uri()
        cursor = _encode(getattr(row, self.field), row.pk, reverse)
        return replace_query_param(url, self.cursor_query_param, cursor)

    def next_cursor(self) -> str | None:
        if not (self.rows and self.has_next):
            return None
        return _encode(getattr(self.rows[-1], self.field), self.rows[-1].pk, False)

    def get_next_link(self):
        cursor = self.next_cursor()
        if cursor is None:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.cursor_query_param, cursor)

    def get_previous_link(self):
        if not (self.rows and self.has_previous):
            return None
        return self._link(self.rows[0], reverse=True)

    def get_paginated_response(self, data):
        return Response(
            OrderedDict(
                [("next", self.get_next_link()), ("previous", self.get_previous_link()), ("results", data)]
            )
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "schema": {"type": "string"},
                "description": "Opaque position from a `next` or `previous` link.",
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
            {
                "name": "ordering",
                "required": False,
                "in": "query",
                "schema": {"type": "string", "enum": list(ORDERINGS)},
                "description": "newest (default) or longest_running",
            },
        ]
