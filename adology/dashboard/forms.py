"""The explorer's filters (the API's own FilterSet, with labels and widgets for people) and
the settings forms."""

from __future__ import annotations

from django import forms

from brands.api.filters import ROLE_CHOICES, CreativeFilter
from brands.api.pagination import ORDERINGS
from brands.models import Brandspace, Creative

ORDERING_LABELS = {"newest": "Newest first", "longest_running": "Longest running"}
PLATFORMS = ["facebook", "instagram", "messenger", "audience_network", "google_search", "youtube", "display"]


class ExplorerFilter(CreativeFilter):
    """CreativeFilter as the explorer's form: same fields, same validation, same queries."""

    def __init__(self, data, *, brands: list[dict], **kwargs):
        super().__init__(data, **kwargs)
        fields = self.form.fields
        fields["brand"] = forms.TypedChoiceField(
            label="Brand",
            required=False,
            coerce=int,
            empty_value=None,
            choices=[("", "All brands")] + [(b["id"], b["name"]) for b in brands],
        )
        fields["role"].label = "Role"
        # django-filter adds its own empty choice; name it instead of adding a second one.
        fields["role"].empty_label = "All roles"
        fields["role"].choices = ROLE_CHOICES  # rebinds the widget's choices to this field's label
        fields["format"].label = "Format"
        fields["format"].empty_label = "All formats"
        fields["format"].choices = Creative.Format.choices
        fields["platform"].label = "Platform"
        fields["platform"].widget.attrs.update({"list": "platforms", "placeholder": "any"})
        fields["active"].label = "Status"
        fields["active"].choices = [("", "Active or not"), ("true", "Active"), ("false", "Stopped")]
        fields["min_days_running"].label = "Min. days running"
        fields["min_days_running"].widget.attrs.update({"min": 0, "inputmode": "numeric"})
        fields["seen_since"].label = "Seen since"
        fields["seen_until"].label = "First seen by"
        for name in ("seen_since", "seen_until"):
            fields[name].widget = forms.DateInput(attrs={"type": "date"})
        fields["q"].label = "Text"
        fields["q"].widget.attrs.update({"placeholder": "Search ad text", "type": "search"})
        # Sorting is the paginator's (it validates it); the form only shows the choice.
        self.ordering = data.get("ordering") or "newest"
        self.orderings = [(key, ORDERING_LABELS[key]) for key in ORDERINGS]
        # Always the page's brandspace (the view sets it); never a visible choice.
        fields["brandspace"].widget = forms.HiddenInput()
        self.platforms = PLATFORMS

    VISIBLE = (
        "q",
        "brand",
        "role",
        "format",
        "platform",
        "active",
        "min_days_running",
        "seen_since",
        "seen_until",
    )

    @property
    def visible_fields(self):
        return [self.form[name] for name in self.VISIBLE]

    @property
    def active_count(self) -> int:
        """How many filters narrow the list (the explorer says so next to its results)."""
        data = self.form.cleaned_data if hasattr(self.form, "cleaned_data") else {}
        return sum(1 for name, value in data.items() if name != "brandspace" and value not in (None, ""))


class RenameForm(forms.Form):
    name = forms.CharField(max_length=Brandspace._meta.get_field("name").max_length, strip=True)
