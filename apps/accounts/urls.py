from django.urls import path

from apps.accounts.apis import organisations

urlpatterns = [
    path("orgs", organisations.OrganisationListApi.as_view(), name="organisation-list"),
    path("orgs/<int:organisation_id>", organisations.OrganisationDetailApi.as_view(), name="organisation-detail"),
]
