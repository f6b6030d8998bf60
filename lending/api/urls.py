"""/api/: the versioned partner API, its OpenAPI schema and documentation; anything else is a 404 problem.

The catch-all comes last here, and this module is included after every other API module (screening's under
api/v1/screening/) in finai/urls.py, so it answers only paths nothing else does, for every method."""

from __future__ import annotations

from django.urls import path, re_path

from lending.api import views

app_name = "api"

urlpatterns = [
    path("v1/applications/", views.ApplicationListCreateView.as_view(), name="application-list"),
    path("v1/applications/<str:id>/", views.ApplicationDetailView.as_view(), name="application-detail"),
    path("v1/batches/", views.BatchListCreateView.as_view(), name="batch-list"),
    path("v1/batches/<str:id>/", views.BatchDetailView.as_view(), name="batch-detail"),
    path("v1/batches/<str:id>/results/", views.BatchResultsView.as_view(), name="batch-results"),
    path("v1/loans/<str:id>/outcomes/", views.LoanOutcomeCreateView.as_view(), name="loan-outcomes"),
    path("schema/", views.SchemaView.as_view(), name="schema"),
    path("docs/", views.docs, name="docs"),
    path("docs/docs.js", views.docs_script, name="docs-script"),
    path("docs/docs.css", views.docs_stylesheet, name="docs-stylesheet"),
    re_path(r"^(?P<path>.*)$", views.not_found),
]
