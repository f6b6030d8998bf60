"""Top-level URL configuration.

Portal pages live under their apps' URL modules; the partner REST API mounts under `api/` (screening's
operations under `api/v1/screening/`, ahead of the loan API, whose catch-all answers any other path with a
404 problem; the OpenAPI schema is generated from these patterns, so it documents both).
"""

from django.contrib import admin
from django.urls import include, path

from finai import health, metrics, views

handler500 = "finai.views.server_error"  # a database outage answers 503, never a 500 page
urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.scrape, name="metrics"),
    path("admin/", admin.site.urls),
    path("favicon.ico", views.favicon, name="favicon"),
    path("", views.home, name="home"),
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("compliance/audit/", views.audit_search, name="audit_search"),
    path("compliance/audit/verify/", views.audit_verify, name="audit_verify"),
    path("compliance/audit/export.csv", views.audit_export, name="audit_export"),
    path("api/v1/screening/", include("monitoring.api.urls")),
    path("api/", include("lending.api.urls")),
    path("", include("lending.urls")),
    path("", include("analytics.urls")),
    path("", include("clustering.urls")),
    path("", include("monitoring.urls")),
]
