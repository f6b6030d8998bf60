"""ECOA / Regulation B: protected attributes are readable by compliance officers only."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from lending.models import Applicant, ProtectedAttributes
from lending.selectors import protected_attributes_get

pytestmark = pytest.mark.django_db


@pytest.fixture
def applicant() -> Applicant:
    applicant = Applicant.objects.create(reference="APP-1", full_name="Ada Applicant")
    ProtectedAttributes.objects.create(applicant=applicant, sex="female", age_band="25-34", marital_status="single")
    return applicant


def test_a_compliance_officer_reads_protected_attributes(applicant, compliance_officer):
    attributes = protected_attributes_get(applicant=applicant, viewer=compliance_officer)

    assert (attributes.sex, attributes.age_band, attributes.marital_status) == ("female", "25-34", "single")


def test_a_compliance_officer_gets_none_for_an_applicant_without_them(compliance_officer):
    bare = Applicant.objects.create(reference="APP-2")

    assert protected_attributes_get(applicant=bare, viewer=compliance_officer) is None


@pytest.mark.parametrize("persona", ["loan_officer", "model_manager", "outsider"])
def test_everyone_else_is_refused(applicant, persona, request):
    viewer = request.getfixturevalue(persona)

    with pytest.raises(PermissionDenied, match="compliance officers only"):
        protected_attributes_get(applicant=applicant, viewer=viewer)


def test_a_superuser_without_the_compliance_role_is_refused(applicant, make_user):
    superuser = make_user("root", "admin")
    superuser.is_superuser = True

    with pytest.raises(PermissionDenied):
        protected_attributes_get(applicant=applicant, viewer=superuser)
