"""The Django admin: the audit trail is read-only for all, protected attributes are for compliance only."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from finai.models import AuditEvent
from finai.services import audit_event_record
from lending.models import Applicant, ProtectedAttributes

pytestmark = pytest.mark.django_db

MARKER = "Zyxian-national-origin-marker"


@pytest.fixture
def staff():
    def promote(user, *, superuser: bool = False):
        user.is_staff, user.is_superuser = True, superuser
        user.save()
        return user

    return promote


@pytest.fixture
def superuser(make_user, staff):
    return staff(make_user("root_admin", "admin"), superuser=True)


@pytest.fixture
def applicant() -> Applicant:
    applicant = Applicant.objects.create(reference="APP-1", full_name="Ada Applicant")
    ProtectedAttributes.objects.create(applicant=applicant, sex="female", national_origin=MARKER)
    return applicant


def _client_for(client, user):
    client.force_login(user)
    return client


# Left out of the admin on purpose, by name: the Berka research tables, whose clients' sex and birth dates are
# for compliance staff only (lending/admin.py).
NOT_IN_THE_ADMIN = {
    "lending": {
        "BerkaDistrict",
        "BerkaAccount",
        "BerkaClient",
        "BerkaClientProtectedAttributes",
        "BerkaDisposition",
        "BerkaCard",
        "BerkaLoan",
        "BerkaOrder",
        "BerkaTransaction",
    }
}


@pytest.mark.parametrize("app_label", ["finai", "lending", "analytics", "monitoring"])
def test_every_model_is_registered_in_the_admin(app_label):
    models = apps.get_app_config(app_label).get_models()
    exempt = NOT_IN_THE_ADMIN.get(app_label, set())
    unregistered = [m.__name__ for m in models if m.__name__ not in exempt and not admin.site.is_registered(m)]
    assert unregistered == []


def test_the_berka_research_tables_are_not_in_the_admin():
    models = {m.__name__: m for m in apps.get_app_config("lending").get_models()}

    assert NOT_IN_THE_ADMIN["lending"] <= set(models)
    assert [name for name in NOT_IN_THE_ADMIN["lending"] if admin.site.is_registered(models[name])] == []


def test_nobody_may_add_change_or_delete_an_audit_event_not_even_a_superuser(client, superuser):
    event = audit_event_record(action="test.event")
    client = _client_for(client, superuser)
    change_url = reverse("admin:finai_auditevent_change", args=[event.pk])

    assert client.get(reverse("admin:finai_auditevent_changelist")).status_code == 200
    page = client.get(change_url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.get(reverse("admin:finai_auditevent_add")).status_code == 403
    assert client.post(change_url, {"action": "test.rewritten"}).status_code == 403
    assert client.get(reverse("admin:finai_auditevent_delete", args=[event.pk])).status_code == 403
    assert client.post(reverse("admin:finai_auditchainhead_delete", args=[1])).status_code == 403
    assert AuditEvent.objects.filter(action="test.event").count() == 1


def test_a_compliance_officer_browses_the_audit_trail_and_a_model_manager_does_not(
    client, compliance_officer, model_manager, staff
):
    audit_event_record(action="test.visible-to-compliance")
    url = reverse("admin:finai_auditevent_changelist")

    response = _client_for(client, staff(compliance_officer)).get(url)
    assert response.status_code == 200
    assert "test.visible-to-compliance" in response.content.decode()
    assert _client_for(client, staff(model_manager)).get(url).status_code == 403


def test_a_compliance_officer_sees_protected_attributes_in_the_admin(client, compliance_officer, staff, applicant):
    client = _client_for(client, staff(compliance_officer))

    changelist = client.get(reverse("admin:lending_protectedattributes_changelist"))
    assert changelist.status_code == 200
    assert MARKER in changelist.content.decode()
    assert "Protected attributes" in client.get(reverse("admin:index")).content.decode()


@pytest.mark.parametrize("persona", ["superuser", "model_manager", "loan_officer"])
def test_everyone_else_is_refused_protected_attributes_in_the_admin(client, persona, request, staff, applicant):
    user = request.getfixturevalue(persona)
    client = _client_for(client, staff(user, superuser=user.is_superuser))
    attributes = applicant.protected_attributes

    assert client.get(reverse("admin:lending_protectedattributes_changelist")).status_code == 403
    assert client.get(reverse("admin:lending_protectedattributes_change", args=[attributes.pk])).status_code == 403
    assert client.get(reverse("admin:lending_protectedattributes_add")).status_code == 403
    assert "Protected attributes" not in client.get(reverse("admin:index")).content.decode()


def test_the_applicant_pages_show_no_protected_values(client, superuser, applicant):
    client = _client_for(client, superuser)

    for url in (
        reverse("admin:lending_applicant_changelist"),
        reverse("admin:lending_applicant_change", args=[applicant.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert "Ada Applicant" in response.content.decode()
        assert MARKER not in response.content.decode()


def test_the_applicant_list_cannot_be_filtered_by_a_protected_attribute(client, superuser, applicant):
    client = _client_for(client, superuser)

    response = client.get(reverse("admin:lending_applicant_changelist"), {"protected_attributes__sex": "female"})

    assert response.status_code == 400


def test_an_admin_edit_is_recorded_in_the_audit_trail(client, superuser, applicant):
    client = _client_for(client, superuser)

    response = client.post(
        reverse("admin:lending_applicant_change", args=[applicant.pk]),
        {"reference": "APP-1", "full_name": "Ada Lovelace", "email": "", "source": "portal"},
    )

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="admin.changed")
    assert (event.actor_id, event.object_type, event.object_id) == (
        superuser.pk,
        "lending.applicant",
        str(applicant.pk),
    )
    assert event.payload == {"fields": ["full_name"]}


def test_a_model_manager_browses_the_registry_but_nobody_edits_it_in_the_admin(client, model_manager, staff, superuser):
    manager_client = _client_for(client, staff(model_manager))
    assert manager_client.get(reverse("admin:analytics_modelversion_changelist")).status_code == 200
    assert manager_client.get(reverse("admin:analytics_modelversion_add")).status_code == 403

    superuser_client = _client_for(client, superuser)
    assert superuser_client.get(reverse("admin:analytics_modelversion_add")).status_code == 403
    assert superuser_client.get(reverse("admin:analytics_promotionrequest_add")).status_code == 403
    assert superuser_client.get(reverse("admin:lending_decision_add")).status_code == 403


def test_a_user_without_staff_access_is_sent_to_the_login_page(client, loan_officer):
    response = _client_for(client, loan_officer).get(reverse("admin:lending_applicant_changelist"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_an_administrator_revokes_partner_keys_from_the_admin_and_it_is_audited(client, superuser):
    from lending.models import Partner, PartnerApiKey
    from lending.services.partners import partner_api_key_authenticate, partner_api_key_issue

    partner = Partner.objects.create(name="Acme Lending")
    issued = partner_api_key_issue(partner=partner)
    client = _client_for(client, superuser)

    response = client.post(
        reverse("admin:lending_partnerapikey_changelist"),
        {"action": "revoke", "_selected_action": [issued.key.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "1 key revoked." in response.content.decode()
    assert PartnerApiKey.objects.get(pk=issued.key.pk).revoked_at is not None
    assert partner_api_key_authenticate(presented=issued.secret) is None
    assert AuditEvent.objects.get(action="partner.api_key_revoked").actor == superuser
