"""Signing in and out, the start page of each role, and a menu that shows each role its own pages."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from finai.models import AuditEvent
from finai.roles import Role

pytestmark = pytest.mark.django_db

START_PAGES = {
    Role.LOAN_OFFICER: "lending:dashboard",
    Role.MODEL_MANAGER: "analytics:version_list",
    Role.COMPLIANCE_OFFICER: "monitoring:fairness_dashboard",
    Role.ANALYST: "clustering:analyst_home",
    Role.ADMIN: "lending:dashboard",
}


@pytest.mark.parametrize("role", Role.values)
def test_each_role_starts_on_its_own_page(client, make_user, role):
    client.force_login(make_user(f"user_{role}", role))

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"] == reverse(START_PAGES[role])


def test_an_account_without_a_role_is_told_so(client, outsider):
    client.force_login(outsider)

    response = client.get(reverse("home"))

    assert response.status_code == 403
    assert "no role yet" in response.content.decode()


def test_signing_in_goes_to_the_start_page_and_is_audited(client, loan_officer):
    response = client.post(
        reverse("login"), {"username": "olivia_officer", "password": "correct-horse-battery-staple"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("lending:dashboard")
    assert AuditEvent.objects.filter(action="auth.login", actor=loan_officer).exists()


def test_a_wrong_password_is_refused_on_the_form(client, loan_officer):
    response = client.post(reverse("login"), {"username": "olivia_officer", "password": "wrong"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()


def test_signing_out_needs_a_post(client, loan_officer):
    client.force_login(loan_officer)

    confirmation = client.get(reverse("logout"))
    still_in = client.get(reverse("lending:dashboard"))
    client.post(reverse("logout"))
    after = client.get(reverse("lending:dashboard"))

    assert confirmation.status_code == 200
    assert still_in.status_code == 200
    assert after.status_code == 302


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        (Role.LOAN_OFFICER, {"Dashboard", "Applications", "New application"}, {"Models", "Audit trail"}),
        (Role.MODEL_MANAGER, {"Models", "Train", "Compare"}, {"Applications", "Fairness"}),
        (Role.COMPLIANCE_OFFICER, {"Fairness", "Overrides", "Audit trail"}, {"Models", "New application"}),
        (
            Role.ANALYST,
            {"Analyst home", "New experiment", "Segments"},
            {"Applications", "Models", "Train", "Fairness", "Audit trail"},
        ),
    ],
)
def test_the_menu_shows_only_the_roles_pages(client, make_user, role, shown, hidden):
    client.force_login(make_user(f"user_{role}", role))

    response = client.get(reverse(START_PAGES[role]))

    labels = {item.label for item in response.context["nav_items"]}
    assert shown <= labels
    assert not hidden & labels
    active = [item.label for item in response.context["nav_items"] if item.active]
    assert len(active) == 1


def test_an_administrator_sees_every_section(client, make_user):
    client.force_login(make_user("ada_admin", Role.ADMIN))

    labels = {item.label for item in client.get(reverse("lending:dashboard")).context["nav_items"]}

    assert {"Dashboard", "Models", "Fairness", "Audit trail", "Analyst home"} <= labels


def test_pages_load_only_local_assets(client, loan_officer):
    client.force_login(loan_officer)

    html = client.get(reverse("lending:application_new")).content.decode()

    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    # collectstatic gathers them for WhiteNoise to serve
    assert finders.find("css/portal.css")
    assert finders.find("css/print.css")
    assert finders.find("js/portal.js")
