"""Core portal pages: sign-in and sign-out, the home redirect by role, and the audit-trail search."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from finai.forms import AuditSearchForm
from finai.roles import COMPLIANCE_ROLES, Role, role_required, user_has_role
from finai.selectors import audit_event_search
from finai.services import audit_chain_verification_record

AUDIT_PAGE_SIZE = 50
VERIFICATION_SESSION_KEY = "finai_audit_verification"
# Where each role starts; a person with several roles starts at the first that applies.
ROLE_HOME = (
    (Role.LOAN_OFFICER, "lending:dashboard"),
    (Role.MODEL_MANAGER, "analytics:version_list"),
    (Role.COMPLIANCE_OFFICER, "monitoring:fairness_dashboard"),
    (Role.ANALYST, "clustering:analyst_home"),
    (Role.ADMIN, "lending:dashboard"),
)


class PortalLoginView(LoginView):
    template_name = "finai/login.html"
    redirect_authenticated_user = True
    next_page = "home"


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
    return render(
        request,
        "finai/audit_search.html",
        {
            "form": form,
            "page": Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page")),
            "query": query.urlencode(),
            "verification": request.session.pop(VERIFICATION_SESSION_KEY, None),
        },
    )


@role_required(*COMPLIANCE_ROLES)
def audit_verify(request: HttpRequest) -> HttpResponse:
    """Recompute the hash chain; the check itself is recorded in the trail."""
    if request.method == "POST":
        verification = audit_chain_verification_record(actor=request.user)
        request.session[VERIFICATION_SESSION_KEY] = verification.as_dict()
    return redirect("audit_search")
