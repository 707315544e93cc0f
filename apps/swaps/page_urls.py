"""The swaps app's pages for people (outside /api/)."""

from django.urls import path

from apps.swaps import views

urlpatterns = [
    path("swaps/<int:order_id>/receipt", views.swap_receipt, name="swap-receipt"),
]
