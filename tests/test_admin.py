"""The Django admin: every registered model's pages load for a superuser; customers stay out.

The models come from `admin.site._registry`, so a model registered later is covered without
editing this file, as long as tests/factories.py has a factory for it (or MAKERS below says
how to make a fuller instance).
"""

from __future__ import annotations

import inspect

import factory
import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token, TokenProxy

from brands.models import Membership
from tests import factories

pytestmark = pytest.mark.django_db


def _organization():
    organization = factories.OrganizationFactory(name="Xylo Org")
    factories.member(organization, Membership.Role.OWNER)
    factories.member(organization, Membership.Role.MEMBER)
    return organization


def _user():
    return factories.MembershipFactory(role=Membership.Role.ADMIN, user__full_name="Xavier User").user


def _brandspace():
    space = factories.BrandspaceFactory(name="Xylo market")
    factories.TrackedBrandFactory(brandspace=space, role="competitor")
    factories.TrackedBrandFactory(brandspace=space, role="followed")
    return space


def _brand():
    brand = factories.BrandFactory(name="Xylo Brand")
    factories.BrandIdentityFactory(brand=brand, source="meta")
    factories.BrandIdentityFactory(brand=brand, source="google")
    return brand


def _creative():
    return factories.CreativeFactory(with_media=2, title="Xylo ad")


def _token_proxy():
    token = Token.objects.create(user=factories.UserFactory())
    return TokenProxy.objects.get(pk=token.pk)


def _group():
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.create(name="Xylo group")
    group.permissions.add(*Permission.objects.all()[:3])
    return group


def _ingestion_run():
    return factories.IngestionRunFactory(requested_by=factories.UserFactory(), failure_reason="x failed")


# Fuller instances than a bare factory gives, so inlines and related columns render too.
MAKERS = {
    "auth.Group": _group,
    "authtoken.TokenProxy": _token_proxy,
    "brands.Organization": _organization,
    "brands.User": _user,
    "brands.Brandspace": _brandspace,
    "brands.Brand": _brand,
    "brands.Creative": _creative,
    "brands.CreativeMedia": lambda: factories.CreativeFactory(with_media=1).media.get(),
    "ingestion.IngestionRun": _ingestion_run,
}


def make_instance(model):
    label = model._meta.label
    if label in MAKERS:
        return MAKERS[label]()
    for _, candidate in inspect.getmembers(factories, inspect.isclass):
        if issubclass(candidate, factory.django.DjangoModelFactory) and candidate._meta.model is model:
            return candidate()
    pytest.fail(f"{label} is registered in the admin: add a factory for it to tests/factories.py")


REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def superuser_client(db):
    user = factories.UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


def test_every_registered_model_is_covered():
    """A guard: the admin registry is not empty and every model can be made."""
    labels = {model._meta.label for model in REGISTERED}
    assert {
        "brands.Organization",
        "brands.User",
        "brands.Brandspace",
        "brands.Brand",
        "brands.Creative",
        "ingestion.IngestionRun",
    } <= labels


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_admin_pages_load(superuser_client, model):
    instance = make_instance(model)
    model_admin = admin.site._registry[model]

    changelist = superuser_client.get(admin_url(model, "changelist"))
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count >= 1

    change = superuser_client.get(admin_url(model, "change", quote(instance.pk)))
    assert change.status_code == 200, change.content[:500]

    search = superuser_client.get(admin_url(model, "changelist"), {"q": "x"})
    assert search.status_code == 200
    if model_admin.search_fields:
        # A search that matches nothing answers an empty list, not an error.
        empty = superuser_client.get(admin_url(model, "changelist"), {"q": "no-such-thing-zzz"})
        assert empty.status_code == 200
        assert empty.context["cl"].result_count == 0

    request = change.wsgi_request
    if model_admin.has_add_permission(request):
        assert superuser_client.get(admin_url(model, "add")).status_code == 200


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_admin_list_filters_load(superuser_client, model):
    """Each list filter's first choice (the one a click would pick) loads."""
    make_instance(model)
    response = superuser_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    for spec in response.context["cl"].filter_specs:
        for choice in list(spec.choices(response.context["cl"]))[1:2]:
            query = choice["query_string"]
            assert superuser_client.get(admin_url(model, "changelist") + query).status_code == 200, query


def test_search_finds_by_related_fields(superuser_client):
    space = _brandspace()
    response = superuser_client.get(admin_url(type(space), "changelist"), {"q": space.primary_brand.name})
    assert list(response.context["cl"].result_list) == [space]
    user = _user()
    response = superuser_client.get(
        admin_url(type(user), "changelist"), {"q": user.membership.organization.name}
    )
    assert list(response.context["cl"].result_list) == [user]


def test_creatives_show_media_thumbnails_and_are_read_only(superuser_client):
    creative = _creative()
    media = list(creative.media.all())
    changelist = superuser_client.get(admin_url(type(creative), "changelist")).content.decode()
    change_url = admin_url(type(creative), "change", creative.pk)
    change = superuser_client.get(change_url).content.decode()
    for item in media:
        url = default_storage.url(item.storage_key)
        assert f'<img src="{url}"' in changelist
        assert f'<img src="{url}"' in change
    assert 'name="_save"' not in change
    # A POST cannot change it either.
    response = superuser_client.post(change_url, {"title": "Edited"})
    assert response.status_code == 403
    creative.refresh_from_db()
    assert creative.title == "Xylo ad"


def test_organization_page_lists_its_members(superuser_client):
    organization = _organization()
    page = superuser_client.get(admin_url(type(organization), "change", organization.pk)).content.decode()
    for membership in organization.memberships.all():
        assert membership.user.email in page


def test_customer_is_sent_to_the_admin_login(db):
    customer = factories.member(factories.OrganizationFactory(), Membership.Role.OWNER)
    client = Client()
    client.force_login(customer)
    for url in ("/admin/", admin_url(type(customer), "changelist")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_anonymous_is_sent_to_the_admin_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
