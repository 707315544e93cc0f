from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    """Base of every swapnet model: when the row was created and last changed."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AuditEvent(models.Model):
    """Who did what sensitive thing, when: revealing personal data, for one. Append-only."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    action = models.CharField(max_length=60)
    subject_type = models.CharField(max_length=60)
    subject_id = models.CharField(max_length=40)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.subject_type}#{self.subject_id}"


class IdempotencyState(models.TextChoices):
    IN_FLIGHT = "in_flight", _("in flight")
    DONE = "done", _("done")


class IdempotencyRecord(models.Model):
    """One ``Idempotency-Key`` of one caller (``apps.common.idempotency``): the fingerprint of the
    request that first used it and, once it has run, its response, replayed to every retry."""

    scope = models.CharField(max_length=80, help_text=_("Who used the key: user:<id>, controller:<station id>, ..."))
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=IdempotencyState.choices, default=IdempotencyState.IN_FLIGHT)
    claimed_at = models.DateTimeField(db_index=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_once_per_scope"),
            models.CheckConstraint(
                condition=Q(state=IdempotencyState.IN_FLIGHT, response_status__isnull=True)
                | Q(state=IdempotencyState.DONE, response_status__isnull=False, completed_at__isnull=False),
                name="idempotency_done_has_response",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key} ({self.state})"
