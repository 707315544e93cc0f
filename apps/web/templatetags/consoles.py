"""``{% console_link %}``: the top bar's way into the consoles, for those who have one."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from apps.web.consoles import console_home_url
from apps.web.pages import actor_of

register = template.Library()


@register.simple_tag(takes_context=True)
def console_link(context: dict[str, Any]) -> str:
    request = context.get("request")
    if request is None or not getattr(request, "user", None) or not request.user.is_authenticated:
        return ""
    url = console_home_url(actor_of(request))
    if url is None or request.path.startswith(url):
        return ""
    return format_html('<a class="chip chip-link" href="{}" data-testid="console">{}</a>', url, _("Console"))
