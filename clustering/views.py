"""Clustering pages: the analyst's home, experiments started from the web and followed with a progress bar,
experiments and their runs compared, a run's latent map and segment profiles, and the choice of the
segmentation in use. Thin: selectors read, services write; torch stays on the workers."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from clustering.forms import ExperimentForm
from clustering.models import ClusteringExperiment, ClusteringRun
from clustering.selectors import (
    configuration_summaries_sorted,
    experiment_configuration_summaries,
    experiment_job,
    experiment_progress,
    run_projection,
    segment_profiles,
    segmentation_candidates,
    segmentation_choice_problems,
    segmentation_chosen,
)
from clustering.services import clustering_experiment_create, clustering_experiment_resume, segmentation_choose
from finai.charts import Bar, bar_chart, scatter_chart
from finai.errors import ApplicationError
from finai.progress import job_progress_response
from finai.roles import (
    COMPLIANCE_ROLES,
    SEGMENT_READER_ROLES,
    SEGMENTATION_ROLES,
    role_required,
    user_has_role,
)

SORTABLE = {
    "label": "configuration",
    "runs": "runs",
    "degenerate_share": "degenerate share",
    "silhouette_test": "silhouette (test)",
    "davies_bouldin_test": "Davies-Bouldin (test)",
    "training_seconds": "training seconds",
}
CHARTED_CONFIGURATIONS = 20
CHART_LABEL_WIDTH = 250  # configuration labels run to about 30 characters
HOME_EXPERIMENTS = 10
HOME_SEGMENTATIONS = 10


@role_required(*SEGMENT_READER_ROLES)
def analyst_home(request: HttpRequest) -> HttpResponse:
    """The analyst's start page: the segmentation in use, the latest experiments with their progress, and the
    best-scoring segmentations to choose from, each silhouette read in words."""
    experiments = ClusteringExperiment.objects.order_by("-created_at", "-pk")[:HOME_EXPERIMENTS]
    candidates = segmentation_candidates(limit=HOME_SEGMENTATIONS)
    return render(
        request,
        "clustering/analyst_home.html",
        {
            "chosen": segmentation_chosen(),
            "experiments": [(experiment, experiment_job(experiment=experiment)) for experiment in experiments],
            "experiment_count": ClusteringExperiment.objects.count(),
            "candidates": [(run, list(segmentation_choice_problems(run).values())) for run in candidates],
            "may_start": user_has_role(request.user, *SEGMENTATION_ROLES),
        },
    )


@role_required(*SEGMENTATION_ROLES)
def experiment_new(request: HttpRequest) -> HttpResponse:
    """Start a grid of clustering runs on the analytics queue; the experiment's page then shows its progress."""
    form = ExperimentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            experiment = clustering_experiment_create(
                name=data["name"],
                configs=form.configs,
                series=data["series"],
                series_length=data["series_length"],
                dataset=data["dataset"],
                created_by=request.user,
            )
        except ApplicationError as error:
            form.add_service_errors(error)
        else:
            runs = len(form.configs)
            messages.success(request, f"Experiment {experiment.pk}: {runs} run{'s' if runs != 1 else ''} queued.")
            return redirect(reverse("clustering:experiment_detail", args=[experiment.pk]))
    return render(request, "clustering/experiment_form.html", {"form": form}, status=400 if form.errors else 200)


@role_required(*SEGMENT_READER_ROLES)
def experiment_progress_json(request: HttpRequest, pk: int) -> HttpResponse:
    return job_progress_response(experiment_job(experiment=get_object_or_404(ClusteringExperiment, pk=pk)))


@role_required(*SEGMENTATION_ROLES)
def experiment_resume(request: HttpRequest, pk: int) -> HttpResponse:
    """POST queues the experiment's unfinished runs again; GET goes back to the experiment."""
    experiment = get_object_or_404(ClusteringExperiment, pk=pk)
    if request.method == "POST":
        try:
            run_ids = clustering_experiment_resume(experiment=experiment, requested_by=request.user)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"{len(run_ids)} unfinished run{'s' if len(run_ids) != 1 else ''} queued again.")
    return redirect(reverse("clustering:experiment_detail", args=[experiment.pk]))


@role_required(*SEGMENT_READER_ROLES)
def experiment_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(ClusteringExperiment.objects.order_by("-created_at", "-pk"), 25).get_page(request.GET.get("page"))
    rows = [(experiment, experiment_progress(experiment=experiment)) for experiment in page]
    return render(
        request,
        "clustering/experiment_list.html",
        {
            "page": page,
            "rows": rows,
            "chosen": segmentation_chosen(),
            "may_start": user_has_role(request.user, *SEGMENTATION_ROLES),
        },
    )


@role_required(*SEGMENT_READER_ROLES)
def experiment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Configurations compared across seeds: a table sorted by any column, and charts of both scores."""
    experiment = get_object_or_404(ClusteringExperiment, pk=pk)
    summaries = experiment_configuration_summaries(experiment=experiment)
    ks = sorted({summary.k for summary in summaries})
    k = int(request.GET["k"]) if request.GET.get("k", "").isdigit() and int(request.GET["k"]) in ks else None
    if k is not None:
        summaries = [summary for summary in summaries if summary.k == k]
    sort = request.GET.get("sort") if request.GET.get("sort") in SORTABLE else "silhouette_test"
    descending = request.GET.get("order", "desc" if sort != "davies_bouldin_test" else "asc") == "desc"
    rows = configuration_summaries_sorted(summaries, key=sort, descending=descending)
    scored = [s for s in summaries if s.silhouette_test is not None]
    by_silhouette = sorted(scored, key=lambda s: -s.silhouette_test)[:CHARTED_CONFIGURATIONS]
    by_dbi = sorted(scored, key=lambda s: s.davies_bouldin_test)[:CHARTED_CONFIGURATIONS]
    charts = {}
    if scored:
        charts["silhouette"] = bar_chart(
            title="Test silhouette by configuration",
            description="Mean test-split silhouette of each configuration's non-degenerate runs; higher is better.",
            bars=[Bar(s.label, s.silhouette_test) for s in by_silhouette],
            maximum=max(max(s.silhouette_test for s in by_silhouette), 1e-9),
            label_width=CHART_LABEL_WIDTH,
        )
        charts["davies_bouldin"] = bar_chart(
            title="Test Davies-Bouldin index by configuration",
            description="Mean test-split Davies-Bouldin index of each configuration; lower is better.",
            bars=[Bar(s.label, s.davies_bouldin_test) for s in by_dbi],
            maximum=max(s.davies_bouldin_test for s in by_dbi),
            label_width=CHART_LABEL_WIDTH,
        )
    runs = Paginator(experiment.runs.order_by("pk"), 50).get_page(request.GET.get("page"))
    best = next(
        (
            run
            for run in experiment.runs.filter(status=ClusteringRun.Status.FINISHED, degenerate=False)
            .exclude(silhouette_test__isnull=True)
            .select_related("experiment")
            .order_by("-silhouette_test", "pk")
            if not segmentation_choice_problems(run)
        ),
        None,
    )
    return render(
        request,
        "clustering/experiment_detail.html",
        {
            "experiment": experiment,
            "job": experiment_job(experiment=experiment),
            "best": best,
            "may_start": user_has_role(request.user, *SEGMENTATION_ROLES),
            "rows": rows,
            "columns": [
                (key, label, key == sort, "asc" if key == sort and descending else "desc")
                for key, label in SORTABLE.items()
            ],
            "charts": charts,
            "charted": CHARTED_CONFIGURATIONS,
            "page": runs,
            "ks": ks,
            "k": k,
            "k_query": f"&k={k}" if k is not None else "",
            "query": f"sort={sort}&order={'desc' if descending else 'asc'}" + (f"&k={k}" if k is not None else ""),
        },
    )


# A segment below this share of accounts is pointed out: silhouette and Davies-Bouldin reward cutting off a
# few outlying accounts (the best k=2 run on the shipped Berka table split 1,227 accounts from 2).
SMALL_SEGMENT_SHARE = 0.05


def _profile_charts(profiles: list) -> dict[str, Any]:
    charts = {}
    for key, title, value_format in (
        ("share", "Share of accounts", "{:.1%}"),
        ("inflow_per_month", "Typical inflow per month (CZK)", "{:,.0f}"),
        ("outflow_per_month", "Typical outflow per month (CZK)", "{:,.0f}"),
        ("volatility", "Typical volatility of amounts (CZK)", "{:,.0f}"),
        ("default_rate", "Loan default rate", "{:.1%}"),
    ):
        values = [getattr(profile, key) for profile in profiles]
        known = [value for value in values if value is not None]
        charts[key] = {
            "title": title,
            "chart": bar_chart(
                title=title,
                description=f"{title} of each segment.",
                bars=[
                    Bar(f"Segment {profile.segment}", value) for profile, value in zip(profiles, values, strict=True)
                ],
                maximum=max(known) if known and max(known) > 0 else 1.0,
                value_format=value_format.format,
            ),
        }
    return charts


@role_required(*SEGMENT_READER_ROLES)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(ClusteringRun.objects.select_related("experiment", "chosen_by"), pk=pk)
    profiles = segment_profiles(run=run) if run.status == ClusteringRun.Status.FINISHED else []
    points = [(x, y, segment) for x, y, segment, _ in run_projection(run=run)]
    latent_map = (
        scatter_chart(
            title="Latent space of the accounts (PCA)",
            description=f"{len(points)} accounts on the first two principal components of their latents, "
            "coloured by segment.",
            points=points,
            x_label="Principal component 1",
            y_label="Principal component 2",
        )
        if points
        else None
    )
    return render(
        request,
        "clustering/run_detail.html",
        {
            "run": run,
            "metrics": {key: value for key, value in run.metrics.items() if not key.endswith("_losses")},
            "profiles": [asdict(profile) | {"default_rate": profile.default_rate} for profile in profiles],
            "profile_charts": _profile_charts(profiles) if profiles else {},
            "small_segments": [profile for profile in profiles if profile.share < SMALL_SEGMENT_SHARE],
            "small_segment_share": SMALL_SEGMENT_SHARE,
            "latent_map": latent_map,
            "can_choose": user_has_role(request.user, *SEGMENTATION_ROLES),
            "choice_problems": list(segmentation_choice_problems(run).values()),
            "can_check_fairness": user_has_role(request.user, *COMPLIANCE_ROLES),
        },
    )


@role_required(*SEGMENTATION_ROLES)
def run_choose(request: HttpRequest, pk: int) -> HttpResponse:
    """POST makes the run the segmentation in use; GET goes back to the run's page."""
    run = get_object_or_404(ClusteringRun, pk=pk)
    if request.method != "POST":
        return redirect(reverse("clustering:run_detail", args=[run.pk]))
    try:
        segmentation_choose(run_id=run.pk, chosen_by=request.user)
    except ApplicationError as error:
        for field, message in error.details.items():
            messages.error(request, f"{field}: {message}")
        if not error.details:
            messages.error(request, error.message)
    else:
        messages.success(request, f"Run {run.pk} is now the segmentation in use.")
    return redirect(reverse("clustering:run_detail", args=[run.pk]))
