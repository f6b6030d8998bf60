"""The promotion command keeps four eyes: the requester cannot approve; a second person can."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analytics.models import ModelVersion

pytestmark = pytest.mark.django_db


def run(*args: str) -> dict:
    out = StringIO()
    call_command("promotion", *args, stdout=out)
    return json.loads(out.getvalue())


def test_a_request_is_approved_by_a_second_person_only(trained_version, model_manager, second_model_manager):
    made = run("request", "--version", str(trained_version.pk), "--exception", "first model", "--user", "mark_manager")

    with pytest.raises(CommandError, match="Four eyes"):
        run("approve", "--request", str(made["request"]), "--accept-exception", "--user", "mark_manager")
    approved = run("approve", "--request", str(made["request"]), "--accept-exception", "--user", "maria_manager")

    assert approved == {"champion": trained_version.pk}
    assert ModelVersion.objects.get(pk=trained_version.pk).status == "champion"


def test_rollback_without_history_is_refused_clearly(champion, model_manager):
    with pytest.raises(CommandError, match="no previous champion"):
        run("rollback", "--user", "mark_manager")


def test_an_unknown_user_is_named(trained_version):
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        run("request", "--version", str(trained_version.pk), "--user", "nobody")
