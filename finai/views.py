"""Core portal pages: sign-in and sign-out, the home redirect by role, and the audit-trail search."""

from __future__ import annotations

import json
import sys

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.paginator import Paginator
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.templatetags.static import static
from django.views import defaults
from django.views.decorators.cache import cache_control

from finai.audit_links import audit_object_urls
from finai.exports import queryset_csv_response
from finai.forms import AuditSearchForm, PortalAuthenticationForm
from finai.roles import COMPLIANCE_ROLES, Role, role_required, user_has_role
from finai.selectors import audit_event_search, audit_last_sequence
from finai.services import audit_chain_verification_record

AUDIT_PAGE_SIZE = 50
VERIFICATION_SESSION_KEY = "finai_audit_verification"
# An outage, not a fault of the request: the database is unreachable or its connection broke.
DATABASE_OUTAGE_ERRORS = (OperationalError, InterfaceError)
OUTAGE_RETRY_AFTER_SECONDS = 30
# Where each role starts; a person with several roles starts at the first that applies.
ROLE_HOME = (
    (Role.LOAN_OFFICER, "lending:dashboard"),
    (Role.MODEL_MANAGER, "analytics:version_list"),
    (Role.COMPLIANCE_OFFICER, "monitoring:fairness_dashboard"),
    (Role.ANALYST, "clustering:analyst_home"),
    (Role.ADMIN, "lending:dashboard"),
)


@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links: send them to the SVG icon every page links (its
    static URL carries the file's hash in production, so it is looked up per request, never at import)."""
    return redirect(static("img/favicon.svg"))


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 handler: a database outage answers 503 (problem+json under /api/, a plain page elsewhere), so clients
    and load balancers retry instead of reporting a fault; anything else is Django's plain 500.

    Nothing here touches the database (no session, no user, no context processors): it is down.
    """
    error = sys.exc_info()[1]
    if not isinstance(error, DATABASE_OUTAGE_ERRORS):
        return defaults.server_error(request)
    headers = {"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)}
    if request.path.startswith("/api/"):
        body = {
            "type": "/api/docs/#problem-service_unavailable",
            "title": "Service unavailable",
            "status": 503,
            "detail": "The service is briefly unavailable: retry later.",
            "code": "service_unavailable",
            "instance": request.get_full_path(),
        }
        return JsonResponse(body, status=503, content_type="application/problem+json", headers=headers)
    return HttpResponse(loader.render_to_string("503.html"), status=503, headers=headers)


class PortalLoginView(LoginView):
    template_name = "finai/login.html"
    redirect_authenticated_user = True
    next_page = "home"
    form_class = PortalAuthenticationForm

    def form_invalid(self, form: PortalAuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, code="locked_out"):
            response.status_code = 429
        return response


def logout_view(request: HttpRequest) -> HttpResponse:
    """Sign out on POST (a link cannot log anyone out by surprise); a GET asks for confirmation."""
    if request.method == "POST":
        logout(request)
        messages.info(request, "You are signed out.")
        return redirect("login")
    return render(request, "finai/logout.html")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each person to their role's start page; an account without a role sees nothing."""
    for role, page in ROLE_HOME:
        if user_has_role(request.user, role):
            return redirect(page)
    raise PermissionDenied("Your account has no role yet: ask an administrator to assign one.")


@role_required(*COMPLIANCE_ROLES)
def audit_search(request: HttpRequest) -> HttpResponse:
    """Search the audit trail by action, actor, object and date; shows the last chain verification."""
    form = AuditSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    events = audit_event_search(**{name: value for name, value in filters.items() if value})
    query = request.GET.copy()
    query.pop("page", None)
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    object_urls = audit_object_urls(page.object_list, request=request)
    return render(
        request,
        "finai/audit_search.html",
        {
            "form": form,
            "page": page,
            "rows": [(event, object_urls.get(event.pk)) for event in page.object_list],
            "query": query.urlencode(),
            "verification": request.session.pop(VERIFICATION_SESSION_KEY, None),
        },
    )


# The audit trail's export: every column an examiner needs to re-verify the chain outside FinAI.
AUDIT_EXPORT_COLUMNS = (
    ("sequence", lambda event: event.sequence),
    ("occurred_at", lambda event: event.occurred_at),
    ("actor", lambda event: event.actor_label),
    ("action", lambda event: event.action),
    ("object_type", lambda event: event.object_type),
    ("object_id", lambda event: event.object_id),
    ("payload", lambda event: json.dumps(event.payload, sort_keys=True, ensure_ascii=False)),
    ("previous_hash", lambda event: event.previous_hash),
    ("hash", lambda event: event.hash),
)


@role_required(*COMPLIANCE_ROLES)
def audit_export(request: HttpRequest) -> HttpResponse:
    """The audit events the search page shows under the same filters, newest first, as streamed CSV."""
    form = AuditSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    events = audit_event_search(**{name: value for name, value in filters.items() if value})
    events = events.filter(sequence__lte=audit_last_sequence())
    return queryset_csv_response(request=request, name="audit_trail", queryset=events, columns=AUDIT_EXPORT_COLUMNS)


@role_required(*COMPLIANCE_ROLES)
def audit_verify(request: HttpRequest) -> HttpResponse:
    """Recompute the hash chain; the check itself is recorded in the trail."""
    if request.method == "POST":
        verification = audit_chain_verification_record(actor=request.user)
        request.session[VERIFICATION_SESSION_KEY] = verification.as_dict()
    return redirect("audit_search")
