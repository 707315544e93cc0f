from django.urls import path

from apps.assets import apis

urlpatterns = [
    path("stations", apis.StationListApi.as_view(), name="station-list"),
    path("stations/<str:code>", apis.StationDetailApi.as_view(), name="station-detail"),
    path("batteries", apis.BatteryListApi.as_view(), name="battery-list"),
    path("batteries/<str:code>", apis.BatteryDetailApi.as_view(), name="battery-detail"),
    path("vehicles", apis.VehicleListApi.as_view(), name="vehicle-list"),
    path("vehicles/<str:plate>", apis.VehicleDetailApi.as_view(), name="vehicle-detail"),
]
