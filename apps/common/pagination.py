from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from apps.common.errors import ApplicationError


class PagePagination(PageNumberPagination):
    """``?page=`` and ``?page_size=`` (1 to 100, default 20); answers ``count``, ``next``,
    ``previous``, ``results``. A page size that is not a whole number in range is refused with
    ``page_size_invalid`` rather than silently replaced; a page past the end answers 404."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ApplicationError(
                "page_size_invalid",
                _("page_size is a whole number from 1 to %(n)d.") % {"n": self.max_page_size},
                fields={"page_size": [str(_("Enter a whole number from 1 to %(n)d.") % {"n": self.max_page_size})]},
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size, "default": self.page_size})
            elif parameter["name"] == self.page_query_param:
                parameter["schema"].update({"minimum": 1})
        return parameters
