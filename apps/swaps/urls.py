from django.urls import path

from apps.swaps.apis import control, driver, explanation, operator, staff

urlpatterns = [
    path("swaps/scan", driver.SwapScanApi.as_view(), name="swap-scan"),
    path("swaps/<int:order_id>", driver.SwapDetailApi.as_view(), name="swap-detail"),
    path("swaps/<int:order_id>/bill/explanation", explanation.BillExplanationApi.as_view(), name="swap-bill-explanation"),
    path("swaps/<int:order_id>/cancel", driver.SwapCancelApi.as_view(), name="swap-cancel"),
    path("swaps/<int:order_id>/confirm", staff.SwapConfirmApi.as_view(), name="swap-confirm"),
    path("swaps/<int:order_id>/abnormal", staff.SwapAbnormalApi.as_view(), name="swap-abnormal"),
    path("swaps/<int:order_id>/resolve", staff.SwapResolveApi.as_view(), name="swap-resolve"),
    path("stations/<str:code>/queue", staff.StationQueueApi.as_view(), name="station-queue"),
    path("stations/<str:code>/queue/call-next", staff.CallNextApi.as_view(), name="station-call-next"),
    path("stations/<str:code>/vehicles/leave", staff.VehicleLeaveApi.as_view(), name="station-vehicle-leave"),
    path("stations/<str:code>/controller-key", operator.ControllerKeyApi.as_view(), name="station-controller-key"),
    path("stations/<str:code>/bay-codes.svg", operator.BayCodesSvgApi.as_view(), name="station-bay-codes"),
    path("station-control/<str:code>/bays/<int:bay>/token", control.BayTokenApi.as_view(), name="control-bay-token"),
    path("station-control/<str:code>/heartbeat", control.HeartbeatApi.as_view(), name="control-heartbeat"),
    path("station-control/<str:code>/commands", control.CommandsApi.as_view(), name="control-commands"),
    path("station-control/<str:code>/swaps/<int:order_id>/report", control.SwapReportApi.as_view(), name="control-report"),
    path("station-control/<str:code>/charging", control.ChargingApi.as_view(), name="control-charging"),
]
