"""Settlement statements on a page: per party and account period, the opening balance, the
lines grouped by movement type and traced to their orders, the closing balance and the amount
payable, with the CSV the API serves. For each party's admins (and the platform); read only."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.access.ledger import statement_organisations
from apps.accounts.models import Organisation
from apps.common.errors import NotFound
from apps.ledger import selectors as ledger_selectors
from apps.ledger.models import Statement
from apps.web import labels
from apps.web.consoles import console_nav
from apps.web.pages import actor_of, page, render_page

ORDER_REFERENCE = re.compile(r"^swap order (\d+)$")
MOVEMENT_ORDER = ["top_up", "energy_deposit", "swap_expense", "swap_income", "commission", "refund", "adjustment"]


def _organisations(request: HttpRequest) -> list[Organisation]:
    actor = actor_of(request)
    organisations = statement_organisations(actor)
    if actor.platform_admin:  # the platform reads every party's; its list starts with its own and those with statements
        with_statements = Statement.objects.values("organisation_id")
        organisations = organisations.filter(Q(pk__in=with_statements) | Q(pk__in=actor.admin_of))
    return list(organisations.order_by("name"))


@page("party")
def index(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    parties = []
    for organisation in _organisations(request):
        statements = list(ledger_selectors.statement_list(actor=actor, organisation_id=organisation.pk)[:24])
        parties.append({"organisation": organisation, "statements": statements})
    context = {"tab": "statements", "nav": console_nav(actor), "parties": parties}
    return render_page(request, "web/console/statements.html", context)


@page("party")
def detail(request: HttpRequest, organisation_id: int, statement_id: int) -> HttpResponse:
    actor = actor_of(request)
    statement = ledger_selectors.statement_get(actor=actor, organisation_id=organisation_id, statement_id=statement_id)
    groups: dict[str, dict[str, Any]] = {}
    for line in statement.lines.select_related("journal_transaction").order_by("posted_at", "id"):
        match = ORDER_REFERENCE.match(line.journal_transaction.reference or "")
        group = groups.setdefault(
            line.movement_type,
            {
                "type": line.movement_type,
                "label": labels.MOVEMENTS.get(line.movement_type, line.movement_type),
                "lines": [],
                "total_fen": 0,
            },
        )
        group["lines"].append(
            {"line": line, "order_id": int(match.group(1)) if match else None, "reference": line.journal_transaction.reference}
        )
        group["total_fen"] += line.amount_fen
    ordered = sorted(groups.values(), key=lambda g: MOVEMENT_ORDER.index(g["type"]) if g["type"] in MOVEMENT_ORDER else 99)
    if statement.organisation_id != organisation_id:  # statement_get filters by it; belt and braces
        raise NotFound("statement")
    context = {
        "tab": "statements",
        "nav": console_nav(actor),
        "statement": statement,
        "organisation": statement.organisation,
        "groups": ordered,
        "line_count": sum(len(g["lines"]) for g in ordered),
        "csv_url": reverse("statement-csv", args=[organisation_id, statement_id]),
        "title": _("Statement"),
    }
    return render_page(request, "web/console/statement.html", context)
