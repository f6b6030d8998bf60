"""Model-management pages, the fairness dashboard, fair-lending reports and alternative searches."""

from __future__ import annotations

from django.urls import path

from analytics import fairness_views, views

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
    path("compliance/fairness/", views.fairness_dashboard, name="fairness_dashboard"),
    path("compliance/fairness/reports/", fairness_views.report_list, name="fairness_report_list"),
    path("compliance/fairness/reports/upload/", fairness_views.report_upload, name="fairness_report_upload"),
    path("compliance/fairness/reports/version/", fairness_views.version_report, name="fairness_version_report"),
    path("compliance/fairness/reports/<int:pk>/", fairness_views.report_detail, name="fairness_report_detail"),
    path("compliance/fairness/reports/<int:pk>/report.csv", fairness_views.report_csv, name="fairness_report_csv"),
    path("compliance/fairness/reports/<int:pk>/report.pdf", fairness_views.report_pdf, name="fairness_report_pdf"),
    path("models/<int:pk>/alternatives/", fairness_views.search_start, name="alternative_search_start"),
    path("models/alternatives/<int:pk>/", fairness_views.search_detail, name="alternative_search_detail"),
    path(
        "models/alternatives/<int:pk>/progress.json",
        fairness_views.search_progress,
        name="alternative_search_progress",
    ),
]
