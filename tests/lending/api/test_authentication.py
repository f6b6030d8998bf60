"""Partner keys (shown once, hashed, revocable, last use recorded) and staff sessions."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from lending.models import Partner, PartnerApiKey
from lending.services.partners import partner_api_key_issue, partner_api_key_revoke
from tests.lending.api.helpers import application_body, bearer, submit

pytestmark = pytest.mark.django_db


def test_without_a_key_it_answers_401_with_the_scheme_to_use(client):
    response = client.get("/api/v1/applications/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="finai"'
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "header",
    ["Bearer fai_unknown_secret", "Bearer nonsense", "Bearer", "Bearer a b", "Bearer fai__x", "Bearer fai_0\x00_x"],
)
def test_a_wrong_or_malformed_key_answers_401(client, acme, header):
    response = client.get("/api/v1/applications/", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_a_key_that_differs_only_after_its_prefix_is_refused(client, acme):
    _, key = acme
    response = client.get("/api/v1/applications/", **bearer(key[:-4] + "AAAA"))

    assert response.status_code == 401


def test_only_the_sha256_of_a_key_is_stored(acme):
    partner, key = acme
    stored = PartnerApiKey.objects.get(partner=partner)

    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {stored.prefix, stored.key_hash, stored.label}


def test_a_revoked_key_stops_working_at_once(client, acme):
    partner, key = acme
    assert client.get("/api/v1/applications/", **bearer(key)).status_code == 200

    partner_api_key_revoke(key=PartnerApiKey.objects.get(partner=partner))

    assert client.get("/api/v1/applications/", **bearer(key)).status_code == 401


def test_a_deactivated_partners_keys_stop_working(client, acme):
    partner, key = acme
    Partner.objects.filter(pk=partner.pk).update(is_active=False)

    assert client.get("/api/v1/applications/", **bearer(key)).status_code == 401


def test_a_partner_may_hold_several_keys_and_revoke_one(client, acme):
    partner, first = acme
    second = partner_api_key_issue(partner=partner, label="rotation")
    partner_api_key_revoke(key=PartnerApiKey.objects.get(prefix=first.split("_")[1]))

    assert client.get("/api/v1/applications/", **bearer(first)).status_code == 401
    assert client.get("/api/v1/applications/", **bearer(second.secret)).status_code == 200


def test_the_last_use_of_a_key_is_recorded(client, acme):
    partner, key = acme
    before = timezone.now()
    client.get("/api/v1/applications/", **bearer(key))

    assert PartnerApiKey.objects.get(partner=partner).last_used_at >= before


def test_create_partner_prints_a_key_that_works(client):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_partner", name="Initech", stdout=out, stderr=err)
    key = out.getvalue().strip()

    assert key.startswith("fai_")
    assert "Store it now" in err.getvalue()
    assert client.get("/api/v1/applications/", **bearer(key)).status_code == 200


def test_create_partner_refuses_a_duplicate_name_and_creates_nothing(acme):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="already exists"):
        call_command("create_partner", name="Acme Lending", stdout=io.StringIO(), stderr=io.StringIO())
    assert PartnerApiKey.objects.count() == 1


def test_create_partner_with_a_webhook_prints_its_signing_secret():
    out = io.StringIO()
    call_command(
        "create_partner", name="Hooli", webhook_url="https://hooli.example/hooks", stdout=out, stderr=io.StringIO()
    )
    key, secret = out.getvalue().split()

    assert key.startswith("fai_")
    assert secret.startswith("whsec_")
    assert Partner.objects.get(name="Hooli").webhook_secret.secret == secret


def test_a_loan_officer_uses_the_api_with_a_session(client, loan_officer, champion):
    client.force_login(loan_officer)
    created = client.post(
        "/api/v1/applications/?mode=sync",
        application_body(),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="officer-1",
    )

    assert created.status_code == 201
    assert client.get(created["Location"]).json()["id"] == created.json()["id"]


def test_a_compliance_officer_reads_but_does_not_submit(client, compliance_officer, acme, champion):
    submitted = submit(client, acme[1], application_body()).json()["id"]
    client.force_login(compliance_officer)

    assert client.get(f"/api/v1/applications/{submitted}/").status_code == 200
    refused = client.post(
        "/api/v1/applications/", application_body(), content_type="application/json", HTTP_IDEMPOTENCY_KEY="c-1"
    )
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"


def test_a_user_without_a_role_is_forbidden(client, outsider):
    client.force_login(outsider)

    response = client.get("/api/v1/applications/")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_an_analyst_reads_no_lending_records_through_the_api(client, analyst, acme, champion):
    """Analysts work on segments; applicants' files are for officers and reviewers."""
    submitted = submit(client, acme[1], application_body()).json()["id"]
    client.force_login(analyst)

    for path in ("/api/v1/applications/", f"/api/v1/applications/{submitted}/", "/api/v1/batches/"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert response.json()["code"] == "permission_denied"


def test_the_key_lookup_finds_what_the_orm_query_finds(acme):
    """The lookup every request runs is written once (finai.rows); the ORM query it replaces is the reference."""
    from lending.services.partners import _active_key_with_partner

    partner = acme[0]
    active = partner_api_key_issue(partner=partner, label="active").key
    revoked = partner_api_key_revoke(key=partner_api_key_issue(partner=partner, label="revoked").key)
    dormant = Partner.objects.create(name="Dormant partner", is_active=False)
    inactive = partner_api_key_issue(partner=dormant).key
    PartnerApiKey.objects.filter(pk=active.pk).update(last_used_at=timezone.now())

    for prefix in (active.prefix, revoked.prefix, inactive.prefix, "0" * 12):
        expected = PartnerApiKey.objects.active().select_related("partner").filter(prefix=prefix).first()
        found = _active_key_with_partner(prefix)
        if expected is None:
            assert found is None, prefix
            continue
        assert _fields(found) == _fields(expected)
        assert _fields(found.partner) == _fields(expected.partner)
    assert _active_key_with_partner(active.prefix).pk == active.pk


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}
