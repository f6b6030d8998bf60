"""Production-monitoring pages: drift and alerts for model managers; fairness of live decisions and of the
segments models may read for compliance."""

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
]
