"""Statements written once (`finai.rows`) read and write exactly what the ORM would: the ORM is the reference."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from finai.models import AuditEvent
from finai.rows import instance_by, instances_insert, instances_insert_linked, model_from_row, quoted_columns
from lending.models import Applicant, Decision, LoanApplication, Partner

pytestmark = pytest.mark.django_db

SUBMITTED_AT = timezone.now() - timedelta(minutes=3)


def _fields(instance: Model) -> dict[str, Any]:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def _read_raw(model: type[Model], pk: int) -> Model:
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quoted_columns(model)} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return model_from_row(model, cursor.fetchone())


def _application(applicant: Applicant, reference: str, **changes: Any) -> LoanApplication:
    values = {
        "reference": reference,
        "applicant": applicant,
        "channel": LoanApplication.Channel.API,
        "amount": Decimal("1234.50"),
        "term_months": 24,
        "purpose": "car",
        "features": {"duration": 24, "ratio": 0.1, "history": "paid", "nested": {"a": [1, None]}},
        "status": LoanApplication.Status.DECIDED,
        "submitted_at": SUBMITTED_AT,
    }
    return LoanApplication(**{**values, **changes})


def test_rows_become_the_instances_the_orm_loads():
    """Every column kind the hot path reads: datetimes, booleans, decimals, JSON, nullable foreign keys."""
    partner = Partner.objects.create(name="Rows partner", is_active=False, rate_limit="60/minute")
    applicant = Applicant.objects.create(reference="rows-1", full_name="Ada")
    application = _application(applicant, "app-rows-1", partner=partner, term_months=None)
    application.save()
    event = AuditEvent(
        sequence=10**12, occurred_at=timezone.now(), action="rows.test", payload={"x": 1.5, "y": [True, None]}
    )
    event.previous_hash, event.hash = "0" * 64, "f" * 64
    event.save()

    for model, pk in ((Partner, partner.pk), (LoanApplication, application.pk), (AuditEvent, event.pk)):
        loaded, from_row = model.objects.get(pk=pk), _read_raw(model, pk)
        assert _fields(from_row) == _fields(loaded)
        assert not from_row._state.adding


def test_an_insert_stores_what_create_stores():
    applicant = Applicant.objects.create(reference="rows-2")
    created = LoanApplication.objects.create(**_field_values(_application(applicant, "app-rows-created")))
    inserted = [_application(applicant, f"app-rows-{n}") for n in range(3)]

    instances_insert(inserted)

    assert [application.pk for application in inserted] == sorted(application.pk for application in inserted)
    apart_from_identity = ("id", "reference", "updated_at")
    reference = _fields(LoanApplication.objects.get(pk=created.pk))
    for application in inserted:
        assert not application._state.adding
        stored = _fields(LoanApplication.objects.get(pk=application.pk))
        assert stored == _fields(application), "the instance holds what was stored, its key included"
        assert {k: v for k, v in stored.items() if k not in apart_from_identity} == {
            k: v for k, v in reference.items() if k not in apart_from_identity
        }
        assert abs(stored["updated_at"] - created.updated_at) < timedelta(minutes=1), "auto_now set as save() sets it"


def _field_values(application: LoanApplication) -> dict[str, Any]:
    return {
        field.attname: getattr(application, field.attname)
        for field in LoanApplication._meta.concrete_fields
        if field.attname not in ("id", "updated_at")
    }


def test_a_row_found_by_a_unique_column_is_the_one_the_orm_finds():
    applicant = Applicant.objects.create(reference="rows-3", full_name="Grace", email="grace@example.com")

    found = instance_by(Applicant, "reference", "rows-3")

    assert _fields(found) == _fields(Applicant.objects.get(reference="rows-3"))
    assert found.pk == applicant.pk
    assert instance_by(Applicant, "reference", "nobody") is None


def test_an_insert_past_the_back_ends_parameter_limit_is_split_and_every_row_gets_its_key(monkeypatch):
    applicant = Applicant.objects.create(reference="rows-4")
    monkeypatch.setattr(connection.ops, "bulk_batch_size", lambda fields, objs: 2)  # as SQLite's limit does
    inserted = [_application(applicant, f"app-split-{n}") for n in range(5)]

    instances_insert(inserted)

    stored = dict(LoanApplication.objects.filter(reference__startswith="app-split-").values_list("reference", "pk"))
    assert stored == {application.reference: application.pk for application in inserted}


def test_a_statement_sent_before_an_insert_runs_first_and_the_insert_still_returns_every_key():
    applicant = Applicant.objects.create(reference="rows-5", full_name="Before")
    table = connection.ops.quote_name(Applicant._meta.db_table)
    inserted = [_application(applicant, f"app-after-{n}") for n in range(2)]

    instances_insert(
        inserted,
        preceded_by=[(f"UPDATE {table} SET full_name = %s WHERE id = %s", ["After 100%", applicant.pk])],  # noqa: S608
    )

    assert Applicant.objects.get(pk=applicant.pk).full_name == "After 100%"
    stored = dict(LoanApplication.objects.filter(reference__startswith="app-after-").values_list("reference", "pk"))
    assert stored == {application.reference: application.pk for application in inserted}


def _decision(application: LoanApplication, champion_version: Any) -> Decision:
    return Decision(
        application=application,
        model_version=champion_version,
        outcome=Decision.Outcome.REFER,
        probability_of_default=0.125,
        score=612,
        reasons=[{"code": "R1", "text": "Short history", "contribution": -0.25}],
        feature_vector={"duration": 24, "nested": {"a": [1, None]}},
        policy_version="policy-1",
        decided_at=timezone.now(),
    )


def test_a_row_and_the_row_that_refers_to_it_are_stored_together_as_create_would_store_them(model_version):
    applicant = Applicant.objects.create(reference="rows-6")
    application = _application(applicant, "app-linked")
    decision = _decision(application, model_version)

    with CaptureQueriesContext(connection) as queries:
        instances_insert_linked(application, decision, link="application")

    assert len(queries) == (1 if connection.vendor == "postgresql" else 2)
    assert not application._state.adding
    assert not decision._state.adding
    assert decision.application_id == application.pk
    assert decision.application is application
    assert _fields(LoanApplication.objects.get(pk=application.pk)) == _fields(application)
    stored = Decision.objects.get(pk=decision.pk)
    assert _fields(stored) == _fields(decision)
    elsewhere = LoanApplication.objects.create(**_field_values(_application(applicant, "app-linked-created")))
    created = Decision.objects.create(**{**_fields(_decision(elsewhere, model_version)), "id": None})
    apart_from_identity = ("id", "application_id", "decided_at")
    assert {k: v for k, v in _fields(stored).items() if k not in apart_from_identity} == {
        k: v for k, v in _fields(created).items() if k not in apart_from_identity
    }
