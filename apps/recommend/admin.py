"""The recommendation log, read-only: drivers' own (if staff), the platform all."""

from __future__ import annotations

from django.contrib import admin

from apps.access import recommend as access
from apps.common.admin import ScopedModelAdmin
from apps.recommend.models import RecommendationLog


@admin.register(RecommendationLog)
class RecommendationLogAdmin(ScopedModelAdmin[RecommendationLog]):
    visible = staticmethod(access.visible_recommendation_logs)
    may_change = staticmethod(access.may_change_recommendation_log)
    list_display = ("created_at", "vehicle", "driver", "top_station", "chosen_station", "chosen_rank", "scoring", "model_version")
    list_filter = ("scoring",)
    list_select_related = ("vehicle", "driver", "top_station", "chosen_station")
    search_fields = ("vehicle__plate",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "created_at",
        "vehicle",
        "driver",
        "latitude",
        "longitude",
        "heading_deg",
        "route",
        "remaining_kwh",
        "vehicle_batteries",
        "kwh_per_km",
        "range_km",
        "shown",
        "candidates",
        "top_station",
        "scoring",
        "model_version",
        "chosen_station",
        "chosen_at",
        "chosen_rank",
    )
    fields = readonly_fields
