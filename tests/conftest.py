import pytest
from rest_framework.test import APIClient

from brands.models import Membership
from tests import factories

pytest_plugins = ["tests.servers"]  # stand-in servers: moto, Mongo wire, Celery workers


@pytest.fixture
def api():
    """An API client; call `.force_authenticate(user)` or use the `client_for` fixture."""
    return APIClient()


@pytest.fixture
def client_for():
    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def org(db):
    return factories.OrganizationFactory()


@pytest.fixture
def owner(org):
    return factories.member(org, Membership.Role.OWNER)


@pytest.fixture
def admin_user_of_org(org):
    return factories.member(org, Membership.Role.ADMIN)


@pytest.fixture
def member(org):
    return factories.member(org, Membership.Role.MEMBER)


@pytest.fixture
def brandspace(org):
    """A brandspace of `org` with a primary brand, one competitor and one followed brand."""
    space = factories.BrandspaceFactory(organization=org)
    factories.TrackedBrandFactory(brandspace=space, role="competitor")
    factories.TrackedBrandFactory(brandspace=space, role="followed")
    return space
