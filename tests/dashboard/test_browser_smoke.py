"""The browser-test setup works end to end: Chromium renders the login page served by the real
server, with its stylesheets, and a wrong password is told to the user."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.dashboard.conftest import screenshot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_login_page_renders_and_a_wrong_password_is_refused(page, page_problems):
    user = factories.UserFactory()

    page.goto("/login/")
    expect(page.get_by_role("heading", name="Sign in to Adology")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page_problems == []  # its stylesheets and scripts all arrived
    screenshot(page, "login")

    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", "not-the-password")
    page.get_by_role("button", name="Sign in").click()

    error = page.get_by_role("alert")
    expect(error).to_be_visible()
    expect(error).to_contain_text("password")
    assert page.url.endswith("/login/")
    assert page_problems == []
    screenshot(page, "login-wrong-password")
