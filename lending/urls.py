"""Lending pages: the officer's workflow, the override report, and the training form."""

from __future__ import annotations

from django.urls import path

from lending import views

app_name = "lending"

urlpatterns = [
    path("lending/", views.dashboard, name="dashboard"),
    path("lending/applications/", views.application_list, name="application_list"),
    path("lending/applications/export.csv", views.application_export, name="application_export"),
    path("lending/applications/decisions.csv", views.decision_export, name="decision_export"),
    path("lending/applications/new/", views.application_new, name="application_new"),
    path("lending/applications/<int:pk>/", views.application_detail, name="application_detail"),
    path("lending/applications/<int:pk>/status.json", views.application_status, name="application_status"),
    path("lending/applications/<int:pk>/override/", views.application_override, name="application_override"),
    path(
        "lending/applications/<int:pk>/override/approve/",
        views.application_override_approve,
        name="application_override_approve",
    ),
    path(
        "lending/applications/<int:pk>/override/reject/",
        views.application_override_reject,
        name="application_override_reject",
    ),
    path("lending/overrides/", views.override_queue, name="override_queue"),
    path("lending/overrides/mine/", views.my_overrides, name="my_overrides"),
    path("lending/applications/<int:pk>/fund/", views.application_fund, name="application_fund"),
    path("lending/loans/", views.loan_list, name="loan_list"),
    path("lending/loans/<int:pk>/", views.loan_detail, name="loan_detail"),
    path("lending/loans/<int:pk>/withdraw/", views.loan_withdraw_view, name="loan_withdraw"),
    path("lending/loans/<int:pk>/close/", views.loan_close_view, name="loan_close"),
    path("lending/outcomes/import/", views.outcomes_import, name="outcomes_import"),
    path("lending/applications/<int:pk>/notice/", views.adverse_action_notice, name="adverse_action_notice"),
    path("compliance/overrides/", views.override_report_view, name="override_report"),
    path("models/train/", views.model_train, name="model_train"),
    path("models/datasets/", views.dataset_list, name="dataset_list"),
]
