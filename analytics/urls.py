"""Model-management pages, with the fair-lending report pages of `analytics.fairness_reports`."""

from __future__ import annotations

from django.urls import path

from analytics import views
from analytics.fairness_reports import urls as fairness_reports

app_name = "analytics"

urlpatterns = [
    path("models/", views.version_list, name="version_list"),
    path("models/compare/", views.version_compare, name="version_compare"),
    path("models/rollback/", views.rollback, name="rollback"),
    path("models/<int:pk>/", views.version_detail, name="version_detail"),
    path("models/<int:pk>/progress.json", views.version_progress, name="version_progress"),
    path("models/<int:pk>/promote/", views.promotion_request_view, name="promotion_request"),
    path("models/<int:pk>/challenger/", views.version_set_challenger, name="set_challenger"),
    path(
        "models/promotions/<int:pk>/approve/",
        views.promotion_decide,
        {"decision": "approve"},
        name="promotion_approve",
    ),
    path("models/promotions/<int:pk>/reject/", views.promotion_decide, {"decision": "reject"}, name="promotion_reject"),
]
urlpatterns += fairness_reports.urlpatterns
