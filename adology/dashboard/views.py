"""The customer dashboard: server-rendered pages over the same services and selectors as the API.

Views stay thin: resolve the brandspace through the tenancy-checked selector (another
organization's brandspace is a 404, exactly as for one that does not exist), call a service or
selector, render. Domain errors become messages a person understands.
"""

from __future__ import annotations

import functools
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import ValidationError

from adology.dashboard import cards, selectors
from adology.dashboard import compare as comparison
from adology.dashboard.forms import ExplorerFilter, RenameForm
from brands import services as brand_services
from brands.api.pagination import CreativeCursorPagination
from brands.exceptions import DomainError, NotFound
from brands.models import Brand, TrackedBrand
from brands.selectors import (
    brand_search,
    brandspace_for_user,
    brandspaces_for_user,
    creative_list,
    membership_for_user,
)
from ingestion import services as ingestion_services
from intelligence.selectors import AnalysisUnavailable, analyses_for_creative

logger = logging.getLogger(__name__)


def brandspace_page(tab: str):
    """Resolve `brandspace_id` for the signed-in user (404 otherwise) and build what every
    page shows: the switcher, the brands with their roles, whether the user may write."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, brandspace_id, *args, **kwargs):
            if not request.user.is_authenticated:
                if _from_fetch(request):  # a script on an open page: it sends the person to sign in
                    return HttpResponse(
                        "Your session has ended; sign in again.",
                        status=401,
                        content_type="text/plain; charset=utf-8",
                    )
                return redirect_to_login(request.get_full_path())
            try:
                brandspace = brandspace_for_user(request.user, brandspace_id)
            except NotFound:
                raise Http404("Brandspace not found.") from None
            membership = membership_for_user(request.user)
            brands = selectors.brands_in_brandspace(brandspace)
            page = {
                "brandspace": brandspace,
                "brandspaces": brandspaces_for_user(request.user).order_by("name").values("id", "name"),
                "membership": membership,
                "can_write": bool(membership and membership.can_write),
                "brands": brands,
                "roles": {b["id"]: b["role"] for b in brands},
                "active_tab": tab,
                "stage_labels": selectors.STAGE_LABELS,
            }
            if request.session.get("brandspace_id") != brandspace.pk:  # "/" reopens it next time
                request.session["brandspace_id"] = brandspace.pk
            return view(request, page, *args, **kwargs)

        return wrapper

    return decorate


@login_required
def home(request):
    """The last brandspace the user looked at, else the organization's first."""
    spaces = brandspaces_for_user(request.user).order_by("name").values_list("id", flat=True)
    last = request.session.get("brandspace_id")
    if last in set(spaces):
        return redirect("dashboard:overview", brandspace_id=last)
    first = spaces.first()
    if first is None:
        return render(request, "dashboard/no_brandspace.html", status=200)
    return redirect("dashboard:overview", brandspace_id=first)


# --- overview ---------------------------------------------------------------------------------


@brandspace_page("overview")
def overview(request, page):
    page["summaries"] = selectors.brand_summaries(page["brandspace"], brands=page["brands"])
    if request.GET.get("fragment") == "brands":  # the live page refreshes its counts after a run
        return render(request, "dashboard/_brand_rows.html", page)
    latest = selectors.latest_creatives(page["brandspace"], brand_ids=list(page["roles"]))
    page["latest"] = [cards.card(c, page["roles"]) for c in latest]
    return render(request, "dashboard/overview.html", page)


@require_POST
@brandspace_page("overview")
def refresh(request, page):
    """Start ingestion runs for every brand of the brandspace ("Refresh now")."""
    try:
        runs = ingestion_services.ingest_request(user=request.user, brandspace_id=page["brandspace"].pk)
    except DomainError as error:
        return _refused(request, error, "dashboard:overview", page)
    brands = len({r.brand_id for r in runs})
    text = f"Refreshing {brands} brand{pluralize(brands)}: {len(runs)} run{pluralize(len(runs))} queued."
    if _from_fetch(request):
        return HttpResponse(status=202, headers={"X-Message": text})
    messages.success(request, text)
    return redirect("dashboard:overview", brandspace_id=page["brandspace"].pk)


# --- ads explorer -----------------------------------------------------------------------------


def _explorer_page(request, page) -> dict:
    """One page of cards for the explorer's filters (from the URL) and cursor."""
    params = request.GET.copy()
    params["brandspace"] = str(page["brandspace"].pk)  # the page's brandspace, whatever the URL says
    filters = ExplorerFilter(params, queryset=creative_list(), request=request, brands=page["brands"])
    result = {"filters": filters, "errors": [], "cards": [], "next_query": None}
    if not filters.is_valid():
        result["errors"] = [
            f"{filters.form.fields[name].label}: {' '.join(errs)}" for name, errs in filters.errors.items()
        ]
    params.pop("page_size", None)
    paginator = CreativeCursorPagination()
    try:
        # Scoped to the page's brands here as well as by the filter's brandspace: belt and braces.
        queryset = filters.filter_queryset(creative_list().filter(brand_id__in=list(page["roles"])))
        ids = request.GET.get("ids")  # live arrivals: which of these new ads match the filters
        if ids:
            queryset = queryset.filter(pk__in=[int(i) for i in ids.split(",")[:100] if i.isdecimal()])
        rows = paginator.paginate(queryset, params)
    except (ValidationError, DomainError) as error:
        detail = getattr(error, "detail", None) or {"filters": [str(error)]}
        values = detail.values() if isinstance(detail, dict) else [detail]
        result["errors"] += [" ".join(map(str, v)) if isinstance(v, list) else str(v) for v in values]
        return result
    result["cards"] = [cards.card(c, page["roles"]) for c in rows]
    cursor = None if ids else paginator.next_cursor()
    if cursor:
        query = params.copy()
        query.pop("brandspace", None)
        query["cursor"] = cursor
        result["next_query"] = query.urlencode()
    return result


@require_GET
@brandspace_page("ads")
def explorer(request, page):
    page.update(_explorer_page(request, page))
    return render(request, "dashboard/explorer.html", page)


@require_GET
@brandspace_page("ads")
def explorer_cards(request, page):
    """The next page of cards as an HTML fragment (scrolling), or the new ads that match."""
    page.update(_explorer_page(request, page))
    response = render(request, "dashboard/_cards.html", page)
    if page["next_query"]:  # where the scroll goes next
        response["X-Next-Page"] = f"{request.path}?{page['next_query']}"
    return response


# --- ad detail --------------------------------------------------------------------------------


@require_GET
@brandspace_page("ads")
def ad_detail(request, page, creative_id):
    creative = selectors.creative_in_brandspace(page["brandspace"], creative_id)
    if creative is None:
        raise Http404("Ad not found.")
    page["ad"] = cards.card(creative, page["roles"])
    page["creative"] = creative
    page["media"] = cards.media_items(creative)
    page["source_link"] = cards.source_link(creative)
    page["landing_page"] = cards.landing_page(creative)
    try:
        page["analyses"] = analyses_for_creative(creative.pk)
    except AnalysisUnavailable:
        page["analyses"] = None  # the template says the analysis cannot be shown right now
    return render(request, "dashboard/ad_detail.html", page)


# --- compare ----------------------------------------------------------------------------------


@require_GET
@brandspace_page("compare")
def compare(request, page):
    page["comparison"] = comparison.brandspace_comparison(page["brandspace"], brands=page["brands"])
    return render(request, "dashboard/compare.html", page)


# --- settings ---------------------------------------------------------------------------------


@brandspace_page("settings")
def brandspace_settings(request, page):
    brandspace = page["brandspace"]
    if request.method == "POST":
        return _settings_change(request, page)
    query = request.GET.get("q", "").strip()
    page["query"] = query
    page["rename_form"] = RenameForm(initial={"name": brandspace.name})
    if query:
        tracked = set(page["roles"])
        page["results"] = [b for b in brand_search(q=query)[:20] if b.pk not in tracked]
    page["roles_to_add"] = [TrackedBrand.Role.COMPETITOR, TrackedBrand.Role.FOLLOWED]
    return render(request, "dashboard/settings.html", page)


def _settings_change(request, page):
    """One form per action; each goes through the brands services (which check the role)."""
    brandspace_id = page["brandspace"].pk
    action = request.POST.get("action")
    try:
        if action == "rename":
            form = RenameForm(request.POST)
            if not form.is_valid():
                raise DomainError(" ".join(form.errors["name"]), field="name")
            brand_services.brandspace_update(
                user=request.user, brandspace_id=brandspace_id, name=form.cleaned_data["name"]
            )
            text = f"Renamed to {form.cleaned_data['name']}."
        elif action == "add":
            brand = _brand(request.POST.get("brand"))
            role = request.POST.get("role", "")
            brand_services.tracked_brand_add(
                user=request.user, brandspace_id=brandspace_id, brand=brand, role=role
            )
            text = f"{brand.name} added as a {role} brand. Its ads arrive with the next run."
        elif action == "remove":
            brand = _brand(request.POST.get("brand"))
            brand_services.tracked_brand_remove(
                user=request.user, brandspace_id=brandspace_id, brand_id=brand.pk
            )
            text = f"{brand.name} removed from this brandspace."
        elif action == "primary":
            brand = _brand(request.POST.get("brand"))
            brand_services.brandspace_update(
                user=request.user, brandspace_id=brandspace_id, primary_brand=brand
            )
            text = f"{brand.name} is now the primary brand."
        else:
            raise DomainError("Unknown settings action.")
    except DomainError as error:
        return _refused(request, error, "dashboard:settings", page)
    messages.success(request, text)
    return redirect("dashboard:settings", brandspace_id=brandspace_id)


def _brand(raw) -> Brand:
    try:
        return Brand.objects.get(pk=int(raw))
    except (Brand.DoesNotExist, TypeError, ValueError):
        raise DomainError("That brand does not exist (any more); search again.", field="brand") from None


# --- helpers ----------------------------------------------------------------------------------


def _from_fetch(request) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _refused(request, error: DomainError, back: str, page):
    """A refused action: the service's message, as a flash message (or plain text for fetch)."""
    status = error.status
    logger.info("dashboard action refused", extra={"reason": str(error), "status": status})
    if _from_fetch(request):
        return HttpResponse(str(error), status=status, content_type="text/plain; charset=utf-8")
    messages.error(request, str(error))
    return redirect(back, brandspace_id=page["brandspace"].pk)
