"""Transaction segments as an opt-in credit-model feature, end to end on German credit records.

Planted answer: every German credit applicant with a bank history gets the transactions of a synthetic
"dormant" account if their loan defaulted and of a "regular salary" account if it was repaid,
so the segment carries real information about default. A model that opts into the segment must then
beat the same model without it on the holdout, and both must be put through the fairness engine.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.services.training_jobs import model_version_train
from clustering.experiments import ExperimentConfig, experiment_run
from clustering.models import ClusteringRun
from clustering.series import amount_series_build
from clustering.services import segmentation_choose, segments_assign
from clustering.synthetic import synthetic_transactions_generate
from finai.artifacts import artifact_store
from finai.errors import ApplicationError
from lending.models import BankAccount, LoanApplication, RepaymentOutcome, Transaction
from lending.services.datasets import dataset_import
from lending.services.decisions import application_decide
from lending.services.segments import NO_HISTORY, SEGMENT_FEATURE
from lending.services.training import model_training_start
from tests.clustering.records import finished_run_record

pytestmark = pytest.mark.django_db

WITH_HISTORY = 700  # the other 300 applicants have no bank history: "no-history"


@pytest.fixture
def histories():
    """Synthetic accounts of two behaviour groups, by group name: {name: [per-account (dates, amounts)]}."""
    synthetic = synthetic_transactions_generate(accounts_per_group=WITH_HISTORY, months=4, seed=5)
    table = synthetic.transactions
    by_group = {"regular_salary": [], "dormant": []}
    for account_id, rows in table.groupby("account_id", sort=True):
        group = synthetic.groups.loc[account_id]
        if group in by_group:
            by_group[group].append((rows["date"].to_numpy().astype("datetime64[D]"), rows["amount"].to_numpy()))
    return by_group


@pytest.fixture
def segmentation(histories, model_manager, tmp_path, settings) -> ClusteringRun:
    """A k=2 run (convolution + BiLSTM encoder) on the two groups' amount series, chosen as the segmentation."""
    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {**settings.STORAGES["artifacts"], "OPTIONS": {"location": str(tmp_path / "artifacts")}},
    }
    accounts, dates, amounts = [], [], []
    for index, (day, amount) in enumerate(histories["regular_salary"][:100] + histories["dormant"][:100]):
        accounts.append(np.full(len(day), index))
        dates.append(day)
        amounts.append(amount)
    series = amount_series_build(
        account_ids=np.concatenate(accounts), dates=np.concatenate(dates), amounts=np.concatenate(amounts)
    )
    config = ExperimentConfig(encoder="dtc", pretext="mse", head="kmeans", k=2, epochs=30, seed=0)
    result = experiment_run(series=series.values, config=config)
    path, digest = artifact_store(name="clustering/test-run.pt", content=result.model_state)
    run = finished_run_record(
        experiment_name="segments for credit models",
        config=config,
        metrics=result.metrics(),
        artifact_path=path,
        artifact_sha256=digest,
    )
    return segmentation_choose(run_id=run.pk, chosen_by=model_manager)


@pytest.fixture
def german_credit_with_histories(histories) -> dict[int, str]:
    """German credit loaded; the first 700 applicants get a history ending the day before they applied."""
    from analytics.engine.dataset_schema import schema_load

    schema = schema_load("german_credit")
    dataset_import(schema=schema, file=schema.resolve_file())
    defaulted = set(
        RepaymentOutcome.objects.filter(status=RepaymentOutcome.Status.DEFAULTED).values_list(
            "loan__application_id", flat=True
        )
    )
    groups = {name: iter(accounts) for name, accounts in histories.items()}
    planted = {}
    transactions = []
    for application in LoanApplication.objects.select_related("applicant").order_by("pk")[:WITH_HISTORY]:
        group = "dormant" if application.pk in defaulted else "regular_salary"
        days, amounts = next(groups[group])
        shift = np.datetime64(application.submitted_at.date() - dt.timedelta(days=1)) - days.max()
        account = BankAccount.objects.create(applicant=application.applicant, reference=f"bank-{application.pk}")
        transactions.extend(
            Transaction(account=account, booked_on=day.item(), amount=round(float(amount), 2))
            for day, amount in zip(days + shift, amounts, strict=True)
        )
        planted[application.pk] = group
    Transaction.objects.bulk_create(transactions, batch_size=5000)
    return planted


def test_training_without_a_chosen_segmentation_is_refused_by_name(db, model_manager):
    with pytest.raises(ApplicationError) as refused:
        model_training_start(
            dataset="german_credit",
            family="scorecard",
            requested_by=model_manager,
            alternative_data=["transaction_segment"],
        )

    assert SEGMENT_FEATURE in refused.value.details


def test_an_unknown_alternative_feature_is_named(db, model_manager):
    with pytest.raises(ApplicationError) as refused:
        model_training_start(
            dataset="german_credit",
            family="scorecard",
            requested_by=model_manager,
            alternative_data=["credit_bureau_x"],
        )

    assert "credit_bureau_x" in refused.value.details


def test_a_model_opting_into_segments_records_their_source_and_their_effect(
    segmentation, german_credit_with_histories, model_manager
):
    version = model_training_start(
        dataset="german_credit",
        family="scorecard",
        requested_by=model_manager,
        seed=0,
        alternative_data=["transaction_segment"],
    )
    version = model_version_train(version_id=version.pk)
    plain = model_version_train(
        version_id=model_training_start(
            dataset="german_credit", family="scorecard", requested_by=model_manager, seed=0
        ).pk
    )

    assert version.status == "candidate", version.failure
    source = version.params["alternative_data"][SEGMENT_FEATURE]
    assert source == {"clustering_run": segmentation.pk, "artifact_sha256": segmentation.artifact_sha256, "k": 2}
    assert SEGMENT_FEATURE in version.explanations["feature_importance"]

    effect = version.fairness["alternative_data_effect"]
    print(
        "AUC with/without the segment: {:.3f}/{:.3f}; lowest AIR {:.3f}/{:.3f}".format(
            effect["with"]["auc"],
            effect["without"]["auc"],
            effect["with"]["lowest_adverse_impact_ratio"],
            effect["without"]["lowest_adverse_impact_ratio"],
        )
    )
    assert effect["features"] == [SEGMENT_FEATURE]
    # The comparison model is the plain model: same rows, family, seed and split.
    assert effect["without"]["auc"] == pytest.approx(plain.metrics["auc"], abs=1e-12)
    assert effect["with"]["auc"] == pytest.approx(version.metrics["auc"], abs=1e-12)
    # The planted segment carries information about default: the model reading it is clearly better.
    assert effect["with"]["auc"] > effect["without"]["auc"] + 0.05
    for side in ("with", "without"):
        assert set(effect[side]["groups"]) >= {"sex", "age_band"}
        assert effect[side]["lowest_adverse_impact_ratio"] is not None
    # One ratio per group on the version page: the engine's agrees with the holdout summary's own count.
    for group, outcome in version.fairness["groups"]["sex"].items():
        assert effect["with"]["groups"]["sex"][group]["adverse_impact_ratio_vs_most_favoured"] == pytest.approx(
            outcome["adverse_impact_ratio"], abs=1e-9
        )


def test_the_snapshot_holds_each_applications_segment_and_no_history_for_the_rest(
    segmentation, german_credit_with_histories, model_manager
):
    from analytics.services.data_snapshots import data_snapshot_frame

    version = model_training_start(
        dataset="german_credit",
        family="scorecard",
        requested_by=model_manager,
        alternative_data=["transaction_segment"],
    )
    frame = data_snapshot_frame(snapshot=version.snapshot).set_index("application_id")
    planted = german_credit_with_histories

    with_history = frame.loc[list(planted), SEGMENT_FEATURE]
    assert (frame.drop(index=list(planted))[SEGMENT_FEATURE] == NO_HISTORY).all()
    assert with_history.str.fullmatch(r"segment-[01]").all()
    # The segmentation separates the two planted groups: each group lands (almost) wholly in one segment.
    groups = with_history.groupby(with_history.index.map(planted)).agg(lambda s: s.value_counts(normalize=True).max())
    assert (groups > 0.9).all(), groups


def test_a_decision_of_a_segment_model_reads_the_applicants_segment(
    segmentation, german_credit_with_histories, model_manager
):
    version = model_version_train(
        version_id=model_training_start(
            dataset="german_credit",
            family="scorecard",
            requested_by=model_manager,
            alternative_data=["transaction_segment"],
        ).pk
    )
    version.__class__.objects.filter(pk=version.pk).update(status="champion")
    template = LoanApplication.objects.get(pk=next(iter(german_credit_with_histories)))
    application = LoanApplication.objects.create(
        reference="segment-decision-1",
        applicant=template.applicant,
        product=template.product,
        amount=template.amount,
        term_months=template.term_months,
        purpose=template.purpose,
        features=template.features,
        submitted_at=timezone.now(),
    )
    history = Transaction.objects.filter(account__applicant=template.applicant).order_by("booked_on", "pk")
    expected = segments_assign(
        run_id=segmentation.pk,
        artifact_sha256=segmentation.artifact_sha256,
        account_ids=np.zeros(history.count(), dtype=np.int64),
        dates=np.array([t.booked_on for t in history], dtype="datetime64[D]"),
        amounts=np.array([float(t.amount) for t in history]),
    )[0]

    decision = application_decide(application_id=application.pk)

    assert decision.model_version_id == version.pk
    assert decision.feature_vector[SEGMENT_FEATURE] == f"segment-{expected}"


def test_a_changed_segmentation_artifact_is_refused(segmentation, german_credit_with_histories):
    with pytest.raises(ApplicationError) as refused:
        segments_assign(
            run_id=segmentation.pk,
            artifact_sha256="0" * 64,
            account_ids=np.zeros(1, dtype=np.int64),
            dates=np.array(["2020-01-01"], dtype="datetime64[D]"),
            amounts=np.ones(1),
        )

    assert refused.value.code == "artifact_tampered"


def test_a_search_for_alternatives_to_a_segment_model_keeps_reading_the_same_segments(
    segmentation, german_credit_with_histories, model_manager
):
    from analytics.services.lda_searches import lda_search_request, lda_search_run

    base = model_version_train(
        version_id=model_training_start(
            dataset="german_credit",
            family="scorecard",
            requested_by=model_manager,
            alternative_data=["transaction_segment"],
        ).pk
    )

    search = lda_search_run(search_id=lda_search_request(base_version=base, requested_by=model_manager).pk)

    candidates = list(search.alternatives.all())
    assert search.status == "done"
    assert candidates
    for candidate in candidates:
        assert candidate.params["alternative_data"] == base.params["alternative_data"], candidate.params


def test_a_segment_that_no_training_applicant_has_is_shown_as_unable_to_inform_the_model(
    segmentation, model_manager, client
):
    from analytics.engine.dataset_schema import schema_load

    schema = schema_load("german_credit")
    dataset_import(schema=schema, file=schema.resolve_file())  # German credit alone: nobody has a bank history
    version = model_version_train(
        version_id=model_training_start(
            dataset="german_credit",
            family="scorecard",
            requested_by=model_manager,
            alternative_data=["transaction_segment"],
        ).pk
    )
    client.force_login(model_manager)

    page = client.get(reverse("analytics:version_detail", args=[version.pk]))

    effect = version.fairness["alternative_data_effect"]
    assert effect["distinct_values"] == {SEGMENT_FEATURE: 1}
    assert effect["with"]["auc"] == pytest.approx(effect["without"]["auc"])
    assert b"had one value for every training row" in page.content
