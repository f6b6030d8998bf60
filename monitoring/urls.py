"""Production-monitoring pages: drift and alerts for model managers; fairness of live decisions and of the
segments models may read for compliance; transaction screening (cases, scenarios, runs) for compliance."""

from __future__ import annotations

from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("models/monitoring/", views.model_monitoring, name="model_monitoring"),
    path(
        "models/monitoring/alerts/<int:pk>/acknowledge/",
        views.alert_act,
        {"action": "acknowledge"},
        name="alert_acknowledge",
    ),
    path("models/monitoring/alerts/<int:pk>/resolve/", views.alert_act, {"action": "resolve"}, name="alert_resolve"),
    path("models/monitoring/alerts.csv", views.alert_export, name="alert_export"),
    path("compliance/fairness/", views.fairness_dashboard, name="fairness_dashboard"),
    path("compliance/fairness/reports/window/", views.window_report, name="fairness_window_report"),
    path("compliance/fairness/segments/<int:pk>/", views.segment_proxy, name="segment_proxy"),
    path("compliance/fairness/segments/<int:pk>/check/", views.segment_proxy_check_start, name="segment_proxy_start"),
    path(
        "compliance/fairness/segment-checks/<int:pk>/progress.json",
        views.segment_proxy_check_progress,
        name="segment_proxy_progress",
    ),
    path("models/backtests/", views.backtest_list, name="backtest_list"),
    path("models/backtests/<int:pk>/", views.backtest_detail, name="backtest_detail"),
    path("models/backtests/<int:pk>/progress.json", views.backtest_progress, name="backtest_progress"),
    path("models/backtests/<int:pk>/attach/", views.backtest_attach_view, name="backtest_attach"),
    path("models/challengers/", views.challenger_comparison_list, name="challenger_comparison_list"),
    path("models/challengers/<int:pk>/", views.challenger_comparison_detail, name="challenger_comparison_detail"),
    path(
        "models/challengers/<int:pk>/progress.json",
        views.challenger_comparison_progress,
        name="challenger_comparison_progress",
    ),
    path("compliance/screening/", views.screening_queue, name="screening_queue"),
    path("compliance/screening/cases.csv", views.screening_case_export, name="screening_case_export"),
    path("compliance/screening/cases/<int:pk>/", views.screening_case, name="screening_case"),
    path("compliance/screening/cases/<int:pk>/act/", views.screening_case_act, name="screening_case_act"),
    path("compliance/screening/cases/<int:pk>/sar.pdf", views.screening_case_sar_pdf, name="screening_case_sar_pdf"),
    path("compliance/screening/cases/<int:pk>/sar.csv", views.screening_case_sar_csv, name="screening_case_sar_csv"),
    path("compliance/screening/scenarios/", views.screening_scenario_list, name="screening_scenario_list"),
    path("compliance/screening/scenarios/new/", views.screening_scenario_new, name="screening_scenario_new"),
    path("compliance/screening/scenarios/<int:pk>/", views.screening_scenario, name="screening_scenario"),
    path("compliance/screening/versions/<int:pk>/", views.screening_version, name="screening_version"),
    path(
        "compliance/screening/versions/<int:pk>/review/",
        views.screening_version_review,
        name="screening_version_review",
    ),
    path(
        "compliance/screening/versions/<int:pk>/test-run/",
        views.screening_test_run_start,
        name="screening_test_run_start",
    ),
    path("compliance/screening/runs/", views.screening_run_list, name="screening_run_list"),
    path("compliance/screening/runs/<int:pk>/", views.screening_run, name="screening_run"),
    path(
        "compliance/screening/runs/<int:pk>/progress.json", views.screening_run_progress, name="screening_run_progress"
    ),
    path("compliance/screening/quality/", views.screening_quality, name="screening_quality"),
    path("compliance/screening/models/", views.screening_models, name="screening_models"),
]
