"""`manage.py seed_demo`: one demo user per role, idempotent, never silently in production."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from finai.management.commands.seed_demo import DEMO_USERS
from finai.models import AuditEvent
from finai.roles import user_roles

pytestmark = pytest.mark.django_db

EXPECTED = {
    "demo_officer": ("loan_officer", False, False),
    "demo_manager": ("model_manager", True, False),
    "demo_manager_2": ("model_manager", True, False),
    "demo_compliance": ("compliance_officer", True, False),
    "demo_analyst": ("analyst", False, False),
    "demo_admin": ("admin", True, True),
}


def _seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_it_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="--force"):
        _seed()
    assert not User.objects.exists()
    assert not AuditEvent.objects.exists()


def test_it_creates_one_user_per_role_with_working_passwords(settings):
    settings.DEBUG = True

    _seed()

    users = {user.username: user for user in User.objects.all()}
    assert set(users) == set(EXPECTED)
    for username, (role, is_staff, is_superuser) in EXPECTED.items():
        user = users[username]
        assert user_roles(user) == {role}
        assert (user.is_staff, user.is_superuser) == (is_staff, is_superuser)
    for demo in DEMO_USERS:
        assert authenticate(username=demo.username, password=demo.password) == users[demo.username]


def test_it_prints_the_credentials_as_a_table(settings):
    settings.DEBUG = True

    lines = _seed().splitlines()

    assert lines[0].split() == ["username", "password", "role"]
    rows = [line.split() for line in lines[2:-1]]
    assert rows == [[demo.username, demo.password, demo.role] for demo in DEMO_USERS]


def test_it_is_idempotent_and_resets_what_was_changed(settings):
    settings.DEBUG = True
    _seed()
    officer = User.objects.get(username="demo_officer")
    officer.set_password("changed-by-someone")
    officer.is_active = False
    officer.save()
    officer.groups.clear()

    _seed()

    assert User.objects.count() == len(EXPECTED)
    officer.refresh_from_db()
    assert officer.is_active
    assert user_roles(officer) == {"loan_officer"}
    assert officer.check_password("demo-officer-pass")
    first, second = AuditEvent.objects.filter(action="demo.users_seeded").order_by("sequence")
    assert first.payload["created"] == list(EXPECTED)
    assert second.payload["created"] == []


def test_it_runs_with_debug_off_when_forced(settings):
    settings.DEBUG = False

    _seed("--force")

    assert User.objects.get(username="demo_admin").is_superuser
    event = AuditEvent.objects.get(action="demo.users_seeded")
    assert event.payload["usernames"] == list(EXPECTED)
    assert all(demo.password not in str(event.payload) for demo in DEMO_USERS)
