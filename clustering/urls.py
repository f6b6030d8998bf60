"""Clustering pages: experiments compared, runs with their segments, the segmentation in use."""

from __future__ import annotations

from django.urls import path

from clustering import views

app_name = "clustering"

urlpatterns = [
    path("clustering/", views.experiment_list, name="experiment_list"),
    path("clustering/experiments/<int:pk>/", views.experiment_detail, name="experiment_detail"),
    path("clustering/runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("clustering/runs/<int:pk>/choose/", views.run_choose, name="run_choose"),
]
