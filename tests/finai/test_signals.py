"""Logins to admin functions are audited; a failed attempt records the username, never the password."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from finai.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"


def test_it_records_a_login_to_the_admin(client, model_manager):
    model_manager.is_staff = True
    model_manager.save()

    response = client.post(reverse("admin:login"), {"username": "mark_manager", "password": PASSWORD})

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="auth.login")
    assert (event.actor_id, event.actor_label, event.object_id) == (
        model_manager.pk,
        "mark_manager",
        str(model_manager.pk),
    )
    assert event.payload == {"path": reverse("admin:login"), "remote_addr": "127.0.0.1"}


def test_it_records_a_failed_login_with_the_username_but_not_the_password(client, model_manager):
    wrong_password = "wrong-horse-battery-staple"

    response = client.post(reverse("admin:login"), {"username": "mark_manager", "password": wrong_password})

    assert response.status_code == 200
    event = AuditEvent.objects.get()
    assert (event.action, event.actor_id, event.actor_label) == ("auth.login_failed", None, "anonymous")
    assert event.payload["username"] == "mark_manager"
    stored = json.dumps(event.payload) + event.actor_label + event.object_id
    assert wrong_password not in stored
    assert "*****" not in stored


def test_it_records_a_failed_login_for_an_unknown_user(client, db):
    client.post(reverse("admin:login"), {"username": "nobody", "password": "whatever-it-was"})

    assert AuditEvent.objects.get(action="auth.login_failed").payload["username"] == "nobody"


def test_it_records_a_logout(client, model_manager):
    model_manager.is_staff = True
    model_manager.save()
    client.force_login(model_manager)

    client.post(reverse("admin:logout"))

    assert list(AuditEvent.objects.values_list("action", "actor_id")) == [
        ("auth.login", model_manager.pk),
        ("auth.logout", model_manager.pk),
    ]
