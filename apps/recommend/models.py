"""What was recommended, to whom and where, and where the driver then swapped.

A ``RecommendationLog`` row is written for every answer that listed stations. It keeps the ranked
candidates with the features they were scored on (JSON, exactly as the driver saw them), so the
training service learns from what drivers were offered, not from today's data. ``chosen_station``
is filled by ``recommendation_outcome_record`` when the vehicle's next swap order is created.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel


class Scoring(models.TextChoices):
    WEIGHTED = "weighted", _("documented weighted score")
    MODEL = "model", _("learned weights")


class RecommendationLog(TimeStampedModel):
    vehicle = models.ForeignKey("assets.Vehicle", on_delete=models.CASCADE, related_name="recommendations")
    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="recommendations"
    )
    latitude = models.DecimalField(_("latitude (WGS84)"), max_digits=9, decimal_places=6)
    longitude = models.DecimalField(_("longitude (WGS84)"), max_digits=9, decimal_places=6)
    heading_deg = models.DecimalField(_("heading (degrees)"), max_digits=4, decimal_places=1, null=True, blank=True)
    route = models.JSONField(_("route"), default=list, blank=True)  # [[lat, lon], ...] when given
    remaining_kwh = models.DecimalField(_("energy on board (kWh)"), max_digits=8, decimal_places=3)
    vehicle_batteries = models.JSONField(_("batteries on board"), default=list, blank=True)  # their codes
    kwh_per_km = models.DecimalField(_("consumption used (kWh/km)"), max_digits=6, decimal_places=3)
    range_km = models.DecimalField(_("range used (km)"), max_digits=7, decimal_places=1)
    # [{"station_id", "station", "rank", "serviceable", "features": {...}, "score"}, ...] best first.
    candidates = models.JSONField(_("ranked candidates"), default=list)
    shown = models.PositiveSmallIntegerField(_("shown to the driver"), default=0)  # the first N candidates
    top_station = models.ForeignKey(
        "assets.Station", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("ranked first")
    )
    scoring = models.CharField(_("scoring"), max_length=10, choices=Scoring.choices)
    model_version = models.CharField(_("model version"), max_length=40, blank=True)
    chosen_station = models.ForeignKey(
        "assets.Station", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("swapped at")
    )
    chosen_at = models.DateTimeField(_("swap ordered at"), null=True, blank=True)
    chosen_rank = models.PositiveSmallIntegerField(_("rank of the station swapped at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("station recommendation")
        verbose_name_plural = _("station recommendations")
        indexes = [
            models.Index(fields=["vehicle", "created_at"], name="recommend_log_vehicle_time"),
            models.Index(fields=["top_station", "created_at"], name="recommend_log_top_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(chosen_station__isnull=True, chosen_at__isnull=True) | Q(chosen_at__isnull=False),
                name="recommend_log_chosen_has_time",
            ),
            models.CheckConstraint(condition=Q(range_km__gte=0), name="recommend_log_range_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.vehicle_id} @ {self.created_at:%Y-%m-%d %H:%M}"
