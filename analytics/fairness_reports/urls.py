"""Fair-lending report pages and less-discriminatory-alternative searches (in the `analytics` namespace)."""

from __future__ import annotations

from django.urls import path

from analytics.fairness_reports import views

urlpatterns = [
    path("compliance/fairness/reports/", views.report_list, name="fairness_report_list"),
    path("compliance/fairness/reports/upload/", views.report_upload, name="fairness_report_upload"),
    path("compliance/fairness/reports/version/", views.version_report, name="fairness_version_report"),
    path("compliance/fairness/reports/<int:pk>/", views.report_detail, name="fairness_report_detail"),
    path("compliance/fairness/reports/<int:pk>/progress.json", views.report_progress, name="fairness_report_progress"),
    path("compliance/fairness/reports/<int:pk>/report.csv", views.report_csv, name="fairness_report_csv"),
    path("compliance/fairness/reports/<int:pk>/report.pdf", views.report_pdf, name="fairness_report_pdf"),
    path("models/<int:pk>/alternatives/", views.search_start, name="lda_search_start"),
    path("models/alternatives/<int:pk>/", views.search_detail, name="lda_search_detail"),
    path("models/alternatives/<int:pk>/progress.json", views.search_progress, name="lda_search_progress"),
]
