from django.urls import path

from apps.ledger import apis

urlpatterns = [
    path("wallet", apis.WalletApi.as_view(), name="wallet"),
    path("wallet/movements", apis.WalletMovementListApi.as_view(), name="wallet-movements"),
    path("orgs/<int:organisation_id>/statements", apis.StatementListApi.as_view(), name="statement-list"),
    path(
        "orgs/<int:organisation_id>/statements/<int:statement_id>",
        apis.StatementDetailApi.as_view(),
        name="statement-detail",
    ),
    path(
        "orgs/<int:organisation_id>/statements/<int:statement_id>.csv",
        apis.StatementCsvApi.as_view(),
        name="statement-csv",
    ),
]
