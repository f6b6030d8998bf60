"""Model-management pages: versions, comparison, promotion, challenger, rollback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render

from analytics.fairness_reports.forms import LdaSearchForm
from analytics.fairness_reports.selectors import fairness_by_attribute, fairness_comparison, lda_search_list
from analytics.forms import (
    CompareForm,
    PromotionApproveForm,
    PromotionRejectForm,
    PromotionRequestForm,
    RollbackForm,
    VersionFilterForm,
)
from analytics.models import ModelVersion, PromotionRequest
from analytics.selectors import (
    alternative_data_effect,
    as_measured,
    calibration_points,
    champion_of,
    feature_importance,
    headline_metrics,
    holdout_comparison,
    model_version_counts,
    model_version_search,
    promotion_requests_for,
    promotion_requests_pending,
    roc_from_calibration,
    roc_points,
)
from analytics.services.integrity import model_artifact_problem, snapshot_schema_problem
from analytics.services.registry import (
    model_version_rollback,
    model_version_set_challenger,
    promotion_approve,
    promotion_gates_evaluate,
    promotion_reject,
    promotion_request,
)
from finai.errors import ApplicationError
from finai.progress import job_progress_response
from finai.roles import MANAGER_ROLES, role_required

PROMOTABLE = (ModelVersion.Status.CANDIDATE, ModelVersion.Status.CHALLENGER)
SEARCHES_SHOWN = 5
VERSIONS_PER_PAGE = 25


def _version_context(version: ModelVersion) -> dict[str, Any]:
    recorded_roc = roc_points(version)
    return {
        "version": version,
        "metrics": headline_metrics(version),
        "roc": recorded_roc or roc_from_calibration(version),
        "roc_from_bands": not recorded_roc,
        "calibration": calibration_points(version),
        "fairness": fairness_by_attribute(version),
        "importance": feature_importance(version),
        "alternative_effect": alternative_data_effect(version),
    }


@role_required(*MANAGER_ROLES)
def version_list(request: HttpRequest) -> HttpResponse:
    """Versions by product, status and family, a page at a time; unpromoted search alternatives are one tick
    away (each search registers several), their number said."""
    form = VersionFilterForm(
        request.GET or None, counts={name: model_version_counts(name) for name in ("product", "status", "family")}
    )
    filters = form.cleaned_data if form.is_valid() else {}
    search = {name: filters.get(name, "") for name in ("product", "status", "family")}
    include_alternatives = bool(filters.get("alternatives"))
    versions = model_version_search(**search, include_alternatives=include_alternatives)
    shown_and_hidden = model_version_search(**search, include_alternatives=True).count()
    champions = ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION).values_list("product", flat=True)
    rollbacks = [
        (champion, RollbackForm(initial={"product": champion.product}))
        for product in sorted(champions)
        if (champion := champion_of(product)) and champion.previous_champion_id
    ]
    page = Paginator(versions, VERSIONS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "analytics/version_list.html",
        {
            "form": form,
            "page": page,
            "versions": page.object_list,
            "query": query.urlencode(),
            "alternatives_hidden": shown_and_hidden - page.paginator.count,
            "pending": promotion_requests_pending(),
            "rollbacks": rollbacks,
        },
    )


@role_required(*MANAGER_ROLES)
def version_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Holdout metrics, ROC and calibration, fairness, importance, lineage, progress and the promotion workflow."""
    version = get_object_or_404(
        ModelVersion.objects.select_related("snapshot", "trained_by", "previous_champion"), pk=pk
    )
    requests = list(promotion_requests_for(version))
    pending = next((r for r in requests if r.status == PromotionRequest.Status.PENDING), None)
    trained = version.status not in (ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED)
    current = _version_context(version)
    return render(
        request,
        "analytics/version_detail.html",
        {
            **current,
            "current": current,
            "gates": promotion_gates_evaluate(version=version) if trained else [],
            "requests": requests,
            "pending": pending,
            "request_form": PromotionRequestForm() if version.status in PROMOTABLE and not pending else None,
            "approve_form": PromotionApproveForm() if pending else None,
            "reject_form": PromotionRejectForm() if pending else None,
            "may_decide": pending is not None
            and request.user.pk not in (pending.requested_by_id, version.trained_by_id),
            "searches": list(lda_search_list(base_version=version)[:SEARCHES_SHOWN]),
            "search_form": LdaSearchForm() if trained else None,
            # Tamper evidence on the page that trusts them: the bytes scoring would load, the schema it learnt under.
            "artifact_problem": model_artifact_problem(version),
            "schema_problem": snapshot_schema_problem(version.snapshot) if version.snapshot else "",
        },
    )


@role_required(*MANAGER_ROLES)
def version_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """Polled by the version page's progress bar while training runs."""
    version = get_object_or_404(ModelVersion, pk=pk)
    return job_progress_response(version)


@role_required(*MANAGER_ROLES)
def version_compare(request: HttpRequest) -> HttpResponse:
    """Two versions side by side: performance, calibration, fairness, explanations and lineage.

    Figures are set side by side only as measured on the same applications (re-scored on the rows both
    held out when their splits differ); otherwise the page says why they are not comparable and shows
    each version's own figures without differences.
    """
    form = CompareForm(request.GET or None)
    pair, metric_rows, fairness, holdout = None, [], [], None
    if form.is_valid():
        a, b = form.cleaned_data["a"], form.cleaned_data["b"]
        holdout = holdout_comparison(a, b)
        if holdout.measured is not None:
            a, b = as_measured(a, holdout.measured[0]), as_measured(b, holdout.measured[1])
        pair = [_version_context(a), _version_context(b)]
        metric_rows = [
            (
                first,
                second,
                second.value - first.value if holdout.common and None not in (first.value, second.value) else None,
            )
            for first, second in zip(pair[0]["metrics"], pair[1]["metrics"], strict=True)
        ]
        fairness = fairness_comparison(a, b)
    return render(
        request,
        "analytics/compare.html",
        {"form": form, "pair": pair, "metric_rows": metric_rows, "fairness": fairness, "holdout": holdout},
    )


def _registry_action(request: HttpRequest, action: Callable[[], Any], success: str, pk: int) -> HttpResponse:
    """Run one governance service; refusals (gates, four eyes) come back as messages on the version page."""
    try:
        action()
    except ApplicationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, success)
    return redirect("analytics:version_detail", pk=pk)


@role_required(*MANAGER_ROLES)
def promotion_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    version = get_object_or_404(ModelVersion, pk=pk)
    if request.method != "POST":
        return redirect("analytics:version_detail", pk=pk)
    form = PromotionRequestForm(request.POST)
    justification = form.cleaned_data["exception_justification"] if form.is_valid() else ""
    return _registry_action(
        request,
        lambda: promotion_request(version=version, requested_by=request.user, exception_justification=justification),
        "Promotion requested; another model manager must approve it.",
        pk,
    )


@role_required(*MANAGER_ROLES)
def promotion_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    """Approve or reject a pending request; the services enforce four eyes and the gates."""
    promotion = get_object_or_404(PromotionRequest.objects.select_related("version"), pk=pk)
    if request.method != "POST":
        return redirect("analytics:version_detail", pk=promotion.version_id)
    if decision == "approve":
        form = PromotionApproveForm(request.POST)
        data = form.cleaned_data if form.is_valid() else {"accept_exception": False, "note": ""}
        action = lambda: promotion_approve(  # noqa: E731
            request=promotion, approved_by=request.user, accept_exception=data["accept_exception"], note=data["note"]
        )
        success = f"Version {promotion.version_id} is now the champion."
    else:
        form = PromotionRejectForm(request.POST)
        note = form.cleaned_data["note"] if form.is_valid() else ""
        action = lambda: promotion_reject(request=promotion, rejected_by=request.user, note=note)  # noqa: E731
        success = "The promotion request was rejected."
    return _registry_action(request, action, success, promotion.version_id)


@role_required(*MANAGER_ROLES)
def version_set_challenger(request: HttpRequest, pk: int) -> HttpResponse:
    version = get_object_or_404(ModelVersion, pk=pk)
    if request.method != "POST":
        return redirect("analytics:version_detail", pk=pk)
    return _registry_action(
        request,
        lambda: model_version_set_challenger(version=version, actor=request.user),
        "The version now scores every application in shadow as challenger.",
        pk,
    )


@role_required(*MANAGER_ROLES)
def rollback(request: HttpRequest) -> HttpResponse:
    """Restore the previous champion of a product."""
    if request.method != "POST":
        return redirect("analytics:version_list")
    form = RollbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A rollback needs a written reason.")
        return redirect("analytics:version_list")
    try:
        restored = model_version_rollback(
            product=form.cleaned_data["product"], actor=request.user, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as error:
        messages.error(request, str(error))
        return redirect("analytics:version_list")
    messages.success(request, f"Rolled back: version {restored.pk} is the champion again.")
    return redirect("analytics:version_detail", pk=restored.pk)
