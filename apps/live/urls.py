from django.urls import path

from apps.live import apis

urlpatterns = [
    path("live/tickets", apis.LiveTicketApi.as_view(), name="live-tickets"),
]
