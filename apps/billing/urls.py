from django.urls import path

from apps.billing import apis

urlpatterns = [
    path("stations/<str:code>/tariff", apis.StationTariffApi.as_view(), name="station-tariff"),
    path("batteries/<str:code>/rate", apis.BatteryRateApi.as_view(), name="battery-rate"),
    path("orgs/<int:organisation_id>/battery-rate", apis.OwnerDefaultRateApi.as_view(), name="owner-battery-rate"),
    path("tariff-zones/<str:zone>/calendar", apis.TariffZoneCalendarApi.as_view(), name="tariff-zone-calendar"),
]
