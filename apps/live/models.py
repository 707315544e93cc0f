"""Tickets: how an API client with a bearer token opens a WebSocket without putting the token
in a URL. A ticket is short-lived and single-use; only its SHA-256 is stored, in the database,
so any server process can redeem it (and only one redemption wins)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class LiveTicket(models.Model):
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("WebSocket ticket")
        verbose_name_plural = _("WebSocket tickets")

    def __str__(self) -> str:
        return f"ticket of user {self.user_id} ({'used' if self.used_at else 'unused'})"
