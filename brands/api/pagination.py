from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination


class CreativeCursorPagination(CursorPagination):
    """Stable paging through a list that grows at the top while you scroll."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    orderings = {
        "newest": ("-first_seen_at", "-id"),
        "longest_running": ("-days_running", "-id"),
    }

    def get_ordering(self, request, queryset, view):
        name = request.query_params.get("ordering", "newest")
        if name not in self.orderings:
            raise ValidationError({"ordering": [f"Use one of: {', '.join(self.orderings)}."]})
        return self.orderings[name]

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        params.append(
            {
                "name": "ordering",
                "required": False,
                "in": "query",
                "description": "newest (default) or longest_running",
                "schema": {"type": "string", "enum": list(self.orderings)},
            }
        )
        return params
