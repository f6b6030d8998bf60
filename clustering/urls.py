"""Clustering pages: the analyst's home, experiments started and compared, runs with their segments, the
segmentation in use."""

from __future__ import annotations

from django.urls import path

from clustering import views

app_name = "clustering"

urlpatterns = [
    path("analyst/", views.analyst_home, name="analyst_home"),
    path("clustering/", views.experiment_list, name="experiment_list"),
    path("clustering/experiments/new/", views.experiment_new, name="experiment_new"),
    path("clustering/experiments/<int:pk>/", views.experiment_detail, name="experiment_detail"),
    path("clustering/experiments/<int:pk>/progress.json", views.experiment_progress_json, name="experiment_progress"),
    path("clustering/experiments/<int:pk>/resume/", views.experiment_resume, name="experiment_resume"),
    path("clustering/runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("clustering/runs/<int:pk>/choose/", views.run_choose, name="run_choose"),
]
