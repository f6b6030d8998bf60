"""Clustering pages: experiments and their runs compared, a run's latent map and segment profiles, and
the choice of the segmentation in use. Thin: selectors read, services write."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from clustering.models import ClusteringExperiment, ClusteringRun
from clustering.selectors import (
    configuration_summaries_sorted,
    experiment_configuration_summaries,
    experiment_progress,
    run_projection,
    segment_profiles,
    segmentation_choice_problems,
    segmentation_chosen,
)
from clustering.services import segmentation_choose
from finai.charts import Bar, bar_chart, scatter_chart
from finai.errors import ApplicationError
from finai.roles import COMPLIANCE_ROLES, MANAGER_ROLES, REVIEWER_ROLES, role_required, user_has_role

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


@role_required(*REVIEWER_ROLES)
def experiment_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(ClusteringExperiment.objects.order_by("-created_at", "-pk"), 25).get_page(request.GET.get("page"))
    rows = [(experiment, experiment_progress(experiment=experiment)) for experiment in page]
    return render(
        request, "clustering/experiment_list.html", {"page": page, "rows": rows, "chosen": segmentation_chosen()}
    )


@role_required(*REVIEWER_ROLES)
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
    return render(
        request,
        "clustering/experiment_detail.html",
        {
            "experiment": experiment,
            "progress": experiment_progress(experiment=experiment),
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


@role_required(*REVIEWER_ROLES)
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
            "can_choose": user_has_role(request.user, *MANAGER_ROLES),
            "choice_problems": list(segmentation_choice_problems(run).values()),
            "can_check_fairness": user_has_role(request.user, *COMPLIANCE_ROLES),
        },
    )


@role_required(*MANAGER_ROLES)
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
