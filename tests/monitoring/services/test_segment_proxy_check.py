"""Do a segmentation's segments follow its owners' sex or age? Requested, then run on the worker, stored."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from clustering.models import ClusteringRun
from finai.errors import ApplicationError
from finai.models import AuditEvent
from monitoring.models import SegmentProxyCheck
from monitoring.services.fairness import segment_proxy_check_request, segment_proxy_check_run
from tests.monitoring.segment_owners import planted_segmentation_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def planted():
    return planted_segmentation_record()


def checked(run: ClusteringRun, reader) -> SegmentProxyCheck:
    """Requested as the page requests it, then run as the worker runs it."""
    return segment_proxy_check_run(check_id=segment_proxy_check_request(run=run, requested_by=reader, queue=False).pk)


def test_each_segments_membership_by_sex_matches_a_count_of_the_planted_owners(planted, compliance_officer):
    check = checked(planted, compliance_officer)

    by_group = {(s.segment, s.attribute, s.group): s for s in check.shares}
    women, men = by_group[(1, "sex", "female")], by_group[(1, "sex", "male")]
    assert check.status == SegmentProxyCheck.Status.DONE
    assert (women.accounts, men.accounts) == (60, 140)
    assert women.share == pytest.approx(48 / 60, abs=1e-12)
    assert men.share == pytest.approx(12 / 140, abs=1e-12)
    reference, other = (women, men) if women.is_reference else (men, women)
    assert other.ratio == pytest.approx(other.share / reference.share, abs=1e-12)
    assert other.flagged
    assert other.ratio_low <= other.ratio <= other.ratio_high
    assert by_group[(1, "age_band", "under 25")].small_group  # 12 owners: reported, never flagged
    assert not by_group[(1, "age_band", "under 25")].flagged


def test_the_request_queues_the_check_and_stores_nothing_computed(
    planted, compliance_officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        check = segment_proxy_check_request(run=planted, requested_by=compliance_officer)

    assert len(queued) == 1
    assert (check.status, check.results, check.shares) == (SegmentProxyCheck.Status.RUNNING, {}, [])
    assert AuditEvent.objects.filter(action="segments.proxy_check_requested", object_id=str(check.pk)).exists()


def test_running_a_check_twice_measures_it_once(planted, compliance_officer):
    check = checked(planted, compliance_officer)

    segment_proxy_check_run(check_id=check.pk)

    assert AuditEvent.objects.filter(action="segments.proxy_check_done").count() == 1


def test_only_compliance_staff_check_owners_protected_groups(planted, model_manager):
    with pytest.raises(PermissionDenied):
        segment_proxy_check_request(run=planted, requested_by=model_manager)
    assert not SegmentProxyCheck.objects.exists()


def test_an_unfinished_run_is_refused_by_name(planted, compliance_officer):
    planted.status = ClusteringRun.Status.RUNNING

    with pytest.raises(ApplicationError) as refused:
        segment_proxy_check_request(run=planted, requested_by=compliance_officer)
    assert "run" in refused.value.details
