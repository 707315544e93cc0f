"""The sandbox provider's checkout page (a page for people, outside the API)."""

from django.urls import path

from apps.payments import views

urlpatterns = [
    path("sandbox/checkout/<str:intent_id>", views.sandbox_checkout, name="payments-sandbox-checkout"),
]
