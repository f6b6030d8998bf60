"""Roles are groups; the checks refuse anyone without the role, inactive users included."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory

from finai.roles import Role, can_read_protected_attributes, ensure_role, role_required, user_has_role, user_roles

pytestmark = pytest.mark.django_db


@role_required(Role.MODEL_MANAGER)
def _manager_page(request):
    return HttpResponse("model registry")


def _get(user):
    request = RequestFactory().get("/registry/")
    request.user = user
    return _manager_page(request)


def test_every_role_exists_as_a_group():
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)


def test_it_reads_a_users_roles_from_their_groups(make_user):
    user = make_user("dual", Role.LOAN_OFFICER, Role.COMPLIANCE_OFFICER)

    assert user_roles(user) == {"loan_officer", "compliance_officer"}
    assert user_has_role(user, Role.MODEL_MANAGER, Role.COMPLIANCE_OFFICER)
    assert not user_has_role(user, Role.MODEL_MANAGER)


def test_an_inactive_or_anonymous_user_holds_no_role(make_user):
    user = make_user("former", Role.COMPLIANCE_OFFICER)
    user.is_active = False

    assert user_roles(user) == set()
    assert user_roles(AnonymousUser()) == set()


def test_ensure_role_refuses_anyone_without_the_role(loan_officer, model_manager):
    ensure_role(model_manager, Role.MODEL_MANAGER)
    with pytest.raises(PermissionDenied, match="model_manager"):
        ensure_role(loan_officer, Role.MODEL_MANAGER)


def test_only_compliance_officers_may_read_protected_attributes(
    loan_officer, model_manager, compliance_officer, outsider, make_user
):
    superuser = make_user("root", Role.ADMIN)
    superuser.is_superuser = True

    assert can_read_protected_attributes(compliance_officer)
    for user in (loan_officer, model_manager, outsider, superuser, AnonymousUser()):
        assert not can_read_protected_attributes(user)


def test_role_required_sends_anonymous_users_to_login():
    response = _get(AnonymousUser())

    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_role_required_refuses_other_roles_and_admits_the_role(loan_officer, model_manager):
    with pytest.raises(PermissionDenied):
        _get(loan_officer)
    assert _get(model_manager).content == b"model registry"
    assert _manager_page.required_roles == ("model_manager",)
