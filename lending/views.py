"""Officer and compliance pages of lending, and the training form (lending exports the training snapshot)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from analytics.engine.dataset_schema import NAME_PATTERN
from analytics.forms import TrainForm
from finai.errors import ApplicationError
from finai.exports import queryset_csv_response
from finai.roles import COMPLIANCE_ROLES, MANAGER_ROLES, OFFICER_ROLES, role_required
from lending.forms import (
    ApplicationFilterForm,
    ApplicationForm,
    DatasetImportForm,
    LoanCloseForm,
    LoanFilterForm,
    LoanFundForm,
    LoanWithdrawForm,
    OutcomesImportForm,
    OverrideForm,
    OverrideReviewForm,
)
from lending.models import Decision, Loan, LoanApplication, Override
from lending.selectors import (
    SOURCE_HISTORICAL,
    SOURCE_LIVE,
    applicant_monitoring_fields,
    application_feature_fields,
    application_pending_override,
    application_primary_decision,
    application_search,
    application_source_counts,
    dataset_overview,
    decision_scale,
    loan_search,
    officer_override_record,
    officer_overrides,
    officer_summary,
    override_report,
    overrides_pending,
)
from lending.services.applications import application_final_outcome, loan_fund
from lending.services.bank_statements import loan_application_submit_with_statement
from lending.services.datasets import dataset_upload_import
from lending.services.loans import loan_close, loan_withdraw
from lending.services.outcomes import repayment_outcomes_import
from lending.services.overrides import decision_override, override_approve, override_reject, override_risk_limit
from lending.services.training import model_training_start

PAGE_SIZE = 25
PENDING = (LoanApplication.Status.SUBMITTED, LoanApplication.Status.SCORING)
ADVERSE = (Decision.Outcome.DECLINE, Decision.Outcome.REFER)


def _page(request: HttpRequest, items: Any) -> Page:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@role_required(*OFFICER_ROLES)
def dashboard(request: HttpRequest) -> HttpResponse:
    """The officer's queue and this week's numbers."""
    return render(request, "lending/dashboard.html", {"summary": officer_summary(officer=request.user)})


@role_required(*OFFICER_ROLES)
def application_list(request: HttpRequest) -> HttpResponse:
    """Live applications by default; historical and synthetic rows are one filter away, their count said."""
    form, search, source = _application_filters(request)
    applications = application_search(**search, source=source)
    return render(
        request,
        "lending/application_list.html",
        {
            "form": form,
            "page": _page(request, applications),
            "query": _query_without_page(request),
            "source": source,
            "source_counts": application_source_counts(**search),
            "other_source_query": _query_with(
                request, source=SOURCE_HISTORICAL if source == SOURCE_LIVE else SOURCE_LIVE
            ),
        },
    )


def _application_filters(request: HttpRequest) -> tuple[ApplicationFilterForm, dict[str, Any], str]:
    """The list's filters from the query (the list and its exports read the same): the form, the search
    arguments and the source (live applications unless asked otherwise)."""
    form = ApplicationFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    search = {
        "query": filters.get("q", ""),
        "status": filters.get("status", ""),
        "outcome": filters.get("outcome", ""),
        "submitted_from": filters.get("submitted_from"),
        "submitted_to": filters.get("submitted_to"),
        "submitted_by": request.user if filters.get("mine") else None,
    }
    return form, search, filters.get("source") or SOURCE_LIVE


def _query_with(request: HttpRequest, **values: str) -> str:
    """The current filters with some replaced, from the first page."""
    query = request.GET.copy()
    query.pop("page", None)
    for name, value in values.items():
        query[name] = value
    return query.urlencode()


@role_required(*OFFICER_ROLES)
def application_new(request: HttpRequest) -> HttpResponse:
    """The application form of a product (`?product=`, else the default product); on success the decision
    page, which waits for the queued decision. The fields are the product's schema's: no term for open-ended
    credit, no purpose where the schema has none."""
    product = request.GET.get("product") or settings.DEFAULT_PRODUCT
    try:
        if not NAME_PATTERN.match(product):
            raise ApplicationError("Not a product name.")
        feature_fields = application_feature_fields(product)
    except ApplicationError:
        raise Http404(f"FinAI decides no product called {product[:50]!r}.") from None
    form = ApplicationForm(
        request.POST or None,
        request.FILES or None,
        feature_fields=feature_fields,
        monitoring_fields=applicant_monitoring_fields(product),
        product=product,
    )
    if request.method == "POST" and form.is_valid():
        applicant, loan_request = form.submission()
        try:
            application = loan_application_submit_with_statement(
                applicant=applicant,
                request=loan_request,
                statement=form.cleaned_data["transactions"],
                submitted_by=request.user,
            )
        except ApplicationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Application {application.reference} was submitted.")
            return redirect("lending:application_detail", pk=application.pk)
    status = 400 if form.is_bound else 200
    return render(request, "lending/application_form.html", {"form": form}, status=status)


def _detail_context(
    application: LoanApplication,
    override_form: OverrideForm | None = None,
    fund_form: LoanFundForm | None = None,
    *,
    viewer: Any,
    review_form: OverrideReviewForm | None = None,
) -> dict[str, Any]:
    decision = application_primary_decision(application=application)
    decided = decision is not None and application.status == LoanApplication.Status.DECIDED
    pending_override = application_pending_override(application=application) if decided else None
    can_override = decided and pending_override is None
    if can_override and override_form is None:
        override_form = OverrideForm(decision=decision)
    final_outcome = application_final_outcome(application)
    fundable = (LoanApplication.Status.DECIDED, LoanApplication.Status.OVERRIDDEN)
    can_fund = decision is not None and application.status in fundable and final_outcome == Decision.Outcome.APPROVE
    if can_fund and fund_form is None:
        fund_form = LoanFundForm(
            initial={
                "principal": application.amount,
                "term_months": application.term_months,
                "funded_on": timezone.localdate(),
            }
        )
    return {
        "fund_form": fund_form if can_fund or fund_form is not None else None,
        "loan": getattr(application, "loan", None),
        "application": application,
        "decision": decision,
        "final_outcome": final_outcome,
        "overrides": list(
            decision.overrides.select_related("overridden_by", "approved_by", "rejected_by").order_by("created_at")
        )
        if decision
        else [],
        "override_form": override_form if can_override else None,
        "pending_override": pending_override,
        # Four eyes: the officer who asked sees why they cannot decide it, and no buttons.
        "own_pending_override": pending_override is not None and pending_override.overridden_by_id == viewer.pk,
        "review_form": (review_form or OverrideReviewForm()) if pending_override else None,
        "risk_limit": override_risk_limit(decision=decision, outcome_after=pending_override.outcome_after)
        if pending_override
        else None,
        "scale": decision_scale(decision=decision) if decision else None,
        "pending": decision is None and application.status in PENDING,
        "has_notice": final_outcome in ADVERSE,
        "transactions": sum(account.transactions.count() for account in application.applicant.bank_accounts.all()),
    }


def _application(pk: int) -> LoanApplication:
    return get_object_or_404(LoanApplication.objects.select_related("applicant", "submitted_by"), pk=pk)


@role_required(*OFFICER_ROLES)
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Outcome, probability of default, score on its scale, reasons, model and policy; or progress while pending."""
    return render(request, "lending/application_detail.html", _detail_context(_application(pk), viewer=request.user))


@role_required(*OFFICER_ROLES)
def application_status(request: HttpRequest, pk: int) -> JsonResponse:
    """Polled by the decision page while the decision is pending."""
    application = _application(pk)
    return JsonResponse(
        {
            "status": application.status,
            "decided": application.status not in PENDING,
            "outcome": application_final_outcome(application),
        }
    )


@role_required(*OFFICER_ROLES)
def application_fund(request: HttpRequest, pk: int) -> HttpResponse:
    """Book the approved application as a funded loan (audited); then the loan's page."""
    application = _application(pk)
    if request.method != "POST":
        return redirect("lending:application_detail", pk=pk)
    form = LoanFundForm(request.POST)
    if form.is_valid():
        try:
            loan = loan_fund(
                application=application,
                principal=form.cleaned_data["principal"],
                term_months=form.cleaned_data["term_months"],
                funded_on=form.cleaned_data["funded_on"],
                actor=request.user,
            )
        except ApplicationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "The loan was funded; repayment outcomes can now be recorded against it.")
            return redirect("lending:loan_detail", pk=loan.pk)
    return render(
        request,
        "lending/application_detail.html",
        _detail_context(application, fund_form=form, viewer=request.user),
        status=400,
    )


@role_required(*OFFICER_ROLES)
def loan_list(request: HttpRequest) -> HttpResponse:
    """Funded loans with their latest repayment outcome, searchable and filtered."""
    form = LoanFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    loans = loan_search(
        query=filters.get("q", ""),
        status=filters.get("status", ""),
        latest_outcome=filters.get("latest_outcome", ""),
        funded_from=filters.get("funded_from"),
        funded_to=filters.get("funded_to"),
    )
    return render(
        request,
        "lending/loan_list.html",
        {"form": form, "page": _page(request, loans), "query": _query_without_page(request)},
    )


def _loan(pk: int) -> Loan:
    return get_object_or_404(Loan.objects.select_related("application__applicant", "ended_by"), pk=pk)


def _loan_context(
    loan: Loan, *, withdraw_form: LoanWithdrawForm | None = None, close_form: LoanCloseForm | None = None
) -> dict[str, Any]:
    outcomes = list(loan.outcomes.order_by("as_of"))
    active = loan.status == Loan.Status.ACTIVE
    today = timezone.localdate()
    if active and not outcomes and withdraw_form is None:
        withdraw_form = LoanWithdrawForm(initial={"withdrawn_on": today})
    if active and close_form is None:
        close_form = LoanCloseForm(initial={"closed_on": today})
    return {
        "loan": loan,
        "application": loan.application,
        "decision": application_primary_decision(application=loan.application),
        "final_outcome": application_final_outcome(loan.application),
        "outcomes": outcomes,
        "latest_outcome": outcomes[-1] if outcomes else None,
        "withdraw_form": withdraw_form if active and not outcomes else None,
        "close_form": close_form if active else None,
    }


@role_required(*OFFICER_ROLES)
def loan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The loan, its application and decision, its repayment outcomes over time, and what can still be done."""
    return render(request, "lending/loan_detail.html", _loan_context(_loan(pk)))


@role_required(*OFFICER_ROLES)
def loan_withdraw_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The applicant withdrew before any repayment (audited, with the reason)."""
    loan = _loan(pk)
    if request.method != "POST":
        return redirect("lending:loan_detail", pk=pk)
    form = LoanWithdrawForm(request.POST)
    if form.is_valid():
        try:
            loan_withdraw(
                loan=loan,
                reason=form.cleaned_data["reason"],
                withdrawn_on=form.cleaned_data["withdrawn_on"],
                actor=request.user,
            )
        except ApplicationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "The withdrawal was recorded; the loan takes no further outcomes.")
            return redirect("lending:loan_detail", pk=pk)
    return render(request, "lending/loan_detail.html", _loan_context(_loan(pk), withdraw_form=form), status=400)


@role_required(*OFFICER_ROLES)
def loan_close_view(request: HttpRequest, pk: int) -> HttpResponse:
    """End a running loan as repaid, charged off or closed (audited)."""
    loan = _loan(pk)
    if request.method != "POST":
        return redirect("lending:loan_detail", pk=pk)
    form = LoanCloseForm(request.POST)
    if form.is_valid():
        try:
            loan = loan_close(
                loan=loan,
                status=form.cleaned_data["status"],
                closed_on=form.cleaned_data["closed_on"],
                note=form.cleaned_data["note"],
                actor=request.user,
            )
        except ApplicationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"The loan was closed as {loan.get_status_display().lower()}.")
            return redirect("lending:loan_detail", pk=pk)
    return render(request, "lending/loan_detail.html", _loan_context(_loan(pk), close_form=form), status=400)


@role_required(*OFFICER_ROLES)
def application_override(request: HttpRequest, pk: int) -> HttpResponse:
    application = _application(pk)
    if request.method != "POST":
        return redirect("lending:application_detail", pk=pk)
    decision = application_primary_decision(application=application)
    if decision is None:
        messages.error(request, "There is no decision to override yet.")
        return redirect("lending:application_detail", pk=pk)
    form = OverrideForm(request.POST, decision=decision)
    if form.is_valid():
        try:
            override = decision_override(
                decision=decision,
                outcome=form.cleaned_data["outcome"],
                justification=form.cleaned_data["justification"],
                overridden_by=request.user,
            )
        except ApplicationError as error:
            for name, problem in error.details.items():
                form.add_error(name if name in form.fields else None, str(problem))
        else:
            if override.status == Override.Status.PENDING:
                messages.info(
                    request,
                    "The override is beyond the risk limit: it waits for a second officer's approval, and until "
                    "then the model's outcome stands.",
                )
            else:
                messages.success(request, "The decision was overridden; the justification is in the audit trail.")
            return redirect("lending:application_detail", pk=pk)
    return render(
        request, "lending/application_detail.html", _detail_context(application, form, viewer=request.user), status=400
    )


def _override_review(request: HttpRequest, pk: int, *, approve: bool) -> HttpResponse:
    """A second officer approves or rejects the application's pending override (POST; a GET shows the page)."""
    application = _application(pk)
    if request.method != "POST":
        return redirect("lending:application_detail", pk=pk)
    override = application_pending_override(application=application)
    if override is None:
        messages.info(request, "No override of this application is waiting for a second officer.")
        return redirect("lending:application_detail", pk=pk)
    form = OverrideReviewForm(request.POST)
    if form.is_valid():
        note = form.cleaned_data["note"]
        try:
            if approve:
                override_approve(override=override, approved_by=request.user, note=note)
            else:
                override_reject(override=override, rejected_by=request.user, note=note)
        except ApplicationError as error:
            form.add_service_errors(error)
        else:
            if approve:
                messages.success(request, "You approved the override: its outcome is now the one acted on.")
            else:
                messages.success(request, "You rejected the override: the model's outcome stands.")
            return redirect("lending:application_detail", pk=pk)
    context = _detail_context(_application(pk), viewer=request.user, review_form=form)
    return render(request, "lending/application_detail.html", context, status=400)


@role_required(*OFFICER_ROLES)
def application_override_approve(request: HttpRequest, pk: int) -> HttpResponse:
    """Four eyes: a second officer puts a pending override into force."""
    return _override_review(request, pk, approve=True)


@role_required(*OFFICER_ROLES)
def application_override_reject(request: HttpRequest, pk: int) -> HttpResponse:
    """Four eyes: a second officer refuses a pending override, saying why."""
    return _override_review(request, pk, approve=False)


@role_required(*OFFICER_ROLES)
def override_queue(request: HttpRequest) -> HttpResponse:
    """Overrides beyond the risk limit waiting for a second officer, oldest first."""
    return render(request, "lending/override_queue.html", {"page": _page(request, overrides_pending())})


@role_required(*OFFICER_ROLES)
def my_overrides(request: HttpRequest) -> HttpResponse:
    """The signed-in officer's own overrides and how the loans went; nobody else's."""
    return render(
        request,
        "lending/my_overrides.html",
        {
            "record": officer_override_record(officer=request.user),
            "page": _page(request, officer_overrides(officer=request.user)),
        },
    )


def creditor_details() -> dict[str, str]:
    """The creditor named on adverse-action notices (settings CREDITOR_NAME, _ADDRESS, _REGULATOR)."""
    return {
        "name": settings.CREDITOR_NAME,
        "address": settings.CREDITOR_ADDRESS,
        "regulator": settings.CREDITOR_REGULATOR,
    }


@role_required(*OFFICER_ROLES)
def adverse_action_notice(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable notice (Regulation B, 12 CFR 1002.9): the action, its specific reasons and ECOA rights.

    An officer who overrode towards an adverse outcome gave the reasons in writing; the notice states them.
    """
    application = _application(pk)
    decision = application_primary_decision(application=application)
    final_outcome = application_final_outcome(application)
    overrides = list(decision.overrides.acted_on().order_by("created_at")) if decision else []
    reasons = [reason.get("text", "") for reason in (decision.reasons if decision else [])]
    if overrides and not reasons:
        reasons = [overrides[-1].justification]
    return render(
        request,
        "lending/adverse_action_notice.html",
        {
            "application": application,
            "decision": decision,
            "final_outcome": final_outcome,
            "is_adverse": final_outcome in ADVERSE,
            "reasons": reasons,
            "creditor": creditor_details(),
            "today": timezone.localdate(),
        },
    )


@role_required(*COMPLIANCE_ROLES)
def override_report_view(request: HttpRequest) -> HttpResponse:
    """Who overrides, how often, in which direction and for which reasons, how the overridden loans went; by
    protected group for compliance officers only."""
    report = override_report(viewer=request.user)
    return render(
        request, "lending/override_report.html", {"report": report, "officers": _page(request, report.by_officer)}
    )


@role_required(*MANAGER_ROLES)
def model_train(request: HttpRequest) -> HttpResponse:
    """Start training on the Celery `training` queue; the version page then shows live progress.

    It lives in lending because lending freezes its records into the training snapshot (analytics, the
    engine, never imports lending).
    """
    form = TrainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = model_training_start(requested_by=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Training of version {version.pk} was queued.")
            return redirect(reverse("analytics:version_detail", args=[version.pk]))
    return render(request, "analytics/train.html", {"form": form}, status=400 if form.errors else 200)


@role_required(*MANAGER_ROLES)
def dataset_list(request: HttpRequest) -> HttpResponse:
    """The data sets FinAI knows, and the import of a new file through an uploaded or known schema."""
    rows = dataset_overview()
    form = DatasetImportForm(
        request.POST or None,
        request.FILES or None,
        datasets=[(row.schema.name, row.schema.name) for row in rows],
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["data_file"]
        try:
            result = dataset_upload_import(
                schema_text=form.cleaned_data["schema_file"],
                dataset=form.cleaned_data["dataset"] or None,
                content=b"".join(upload.chunks()),
                file_name=upload.name,
                imported_by=request.user,
            )
        except ApplicationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request,
                f"{result.dataset}: {result.rows} rows, {result.created} imported, {result.skipped} already loaded.",
            )
            return redirect(reverse("lending:dataset_list"))
    return render(request, "lending/datasets.html", {"rows": rows, "form": form}, status=400 if form.errors else 200)


@role_required(*OFFICER_ROLES, *MANAGER_ROLES)
def outcomes_import(request: HttpRequest) -> HttpResponse:
    """Record a servicing file of repayment outcomes, all or nothing: monitoring's realised performance and
    vintages read them."""
    form = OutcomesImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["outcomes_file"]
        try:
            result = repayment_outcomes_import(
                content=b"".join(upload.chunks()), file_name=upload.name, imported_by=request.user
            )
        except ApplicationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"{upload.name}: {result.rows} outcomes recorded.")
            return redirect(reverse("lending:outcomes_import"))
    return render(request, "lending/outcomes_import.html", {"form": form}, status=400 if form.errors else 200)


# --- exports (issue 18): the application list's rows under its filters, streamed as CSV and audited ---------------
# No protected attribute is in either export, whoever asks: they are for compliance's fairness measurement only
# (Regulation B), and an officer's list never shows them.


def _filtered_applications(request: HttpRequest) -> QuerySet[LoanApplication]:
    """The applications `application_list` shows under the request's filters."""
    _, search, source = _application_filters(request)
    return application_search(**search, source=source)


APPLICATION_EXPORT_COLUMNS = (
    ("reference", lambda application: application.reference),
    ("applicant_reference", lambda application: application.applicant.reference),
    ("applicant", lambda application: application.applicant.full_name),
    ("channel", lambda application: application.channel),
    ("product", lambda application: application.product),
    ("amount", lambda application: application.amount),
    ("term_months", lambda application: application.term_months),
    ("purpose", lambda application: application.purpose),
    ("submitted_at", lambda application: application.submitted_at),
    ("submitted_by", lambda application: application.submitted_by),
    ("status", lambda application: application.status),
    ("decision_outcome", lambda application: application.decision_outcome),
    ("decided_at", lambda application: application.decided_at),
    ("final_outcome", lambda application: application.final_outcome),
)


@role_required(*OFFICER_ROLES)
def application_export(request: HttpRequest) -> HttpResponse:
    """The application list under its filters, in its order, as CSV."""
    return queryset_csv_response(
        request=request,
        name="applications",
        queryset=_filtered_applications(request),
        columns=APPLICATION_EXPORT_COLUMNS,
    )


def _latest_override(decision: Decision) -> Override | None:
    overrides = decision.overrides.all()  # prefetched, oldest first
    return overrides[len(overrides) - 1] if overrides else None


def _override_value(field: str) -> Any:
    def value(decision: Decision) -> Any:
        override = _latest_override(decision)
        return getattr(override, field) if override else None

    return value


DECISION_EXPORT_COLUMNS = (
    ("application", lambda decision: decision.application.reference),
    ("decision", lambda decision: decision.pk),
    ("decided_at", lambda decision: decision.decided_at),
    ("model_version", lambda decision: decision.model_version_id),
    ("policy_version", lambda decision: decision.policy_version),
    ("outcome", lambda decision: decision.outcome),
    ("probability_of_default", lambda decision: decision.probability_of_default),
    ("score", lambda decision: decision.score),
    ("reason_codes", lambda decision: "; ".join(str(reason.get("code", "")) for reason in decision.reasons)),
    ("reasons", lambda decision: "; ".join(str(reason.get("text", "")) for reason in decision.reasons)),
    ("outside_training_range", lambda decision: "; ".join(map(str, decision.outside_training_range))),
    ("override_status", _override_value("status")),
    ("override_outcome", _override_value("outcome_after")),
    ("overridden_by", _override_value("overridden_by")),
    ("override_justification", _override_value("justification")),
)


@role_required(*OFFICER_ROLES)
def decision_export(request: HttpRequest) -> HttpResponse:
    """The decisions acted on for the application list's applications under its filters, with their model version,
    policy, probability, score, principal reasons and any override: what an officer reviews or hands to a second
    line of defence. Challengers' shadow decisions are stored, never shown, so never exported either."""
    applications = _filtered_applications(request).order_by().values("pk")
    decisions = (
        Decision.objects.filter(application__in=applications, is_shadow=False)
        .select_related("application")
        .prefetch_related(
            Prefetch("overrides", queryset=Override.objects.select_related("overridden_by").order_by("created_at"))
        )
        .order_by("-application__submitted_at", "-application__pk")
    )
    return queryset_csv_response(request=request, name="decisions", queryset=decisions, columns=DECISION_EXPORT_COLUMNS)
