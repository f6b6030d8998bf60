"""`manage.py search_alternatives --version ID [--tolerance T] [--wait]`."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from analytics.models import LdaSearch
from analytics.services.lda_searches import lda_search_run
from finai.celery import app

pytestmark = pytest.mark.django_db


def test_it_queues_a_search_with_its_tolerance(trained_version, model_manager, django_capture_on_commit_callbacks):
    out = io.StringIO()
    with django_capture_on_commit_callbacks() as queued:
        call_command(
            "search_alternatives",
            "--version",
            str(trained_version.pk),
            "--tolerance",
            "0.02",
            "--user",
            model_manager.username,
            stdout=out,
        )

    search = LdaSearch.objects.get()
    assert json.loads(out.getvalue()) == {"id": search.pk, "status": "queued"}
    assert search.parameters == {"tolerance": 0.02}
    assert search.requested_by == model_manager
    assert len(queued) == 1


def test_with_wait_it_prints_the_finished_search(trained_version, monkeypatch):
    """The worker is played inline: the queued task runs as soon as the request commits."""
    monkeypatch.setattr("django.db.transaction.on_commit", lambda callback, *args, **kwargs: callback())
    monkeypatch.setattr("analytics.tasks.train_lda_search.delay", lambda search_id: lda_search_run(search_id=search_id))
    out = io.StringIO()
    call_command("search_alternatives", "--version", str(trained_version.pk), "--wait", "--timeout", "5", stdout=out)

    printed = json.loads(out.getvalue())
    assert printed["status"] == "done"
    assert printed["results"]["base"]["version_id"] == trained_version.pk
    assert len(printed["results"]["alternatives"]) >= 6


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--version", "999999"), "--version: no model version 999999"),
        (("--tolerance", "0.5"), "tolerance: must be an AUC difference from 0 to 0.2"),
        (("--user", "nobody"), "--user: no user named 'nobody'"),
    ],
)
def test_bad_arguments_are_named(trained_version, args, named):
    arguments = ["--version", str(trained_version.pk), *args] if args[0] != "--version" else list(args)
    with pytest.raises(CommandError, match=named):
        call_command("search_alternatives", *arguments)
    assert not LdaSearch.objects.exists()


def test_the_search_task_runs_on_the_training_queue():
    """It trains models, so it goes where training workers listen (settings: analytics.tasks.train_*)."""
    assert app.amqp.router.route({}, "analytics.tasks.train_lda_search")["queue"].name == "training"
