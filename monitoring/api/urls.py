"""/api/v1/screening/: bookings screened as they arrive, one at a time or in batches."""

from __future__ import annotations

from django.urls import path

from monitoring.api import views

app_name = "screening_api"

urlpatterns = [
    path("transactions/", views.ScreeningTransactionCreateView.as_view(), name="transactions"),
    path("batches/", views.ScreeningBatchCreateView.as_view(), name="batches"),
]
