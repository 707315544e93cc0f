from django.urls import path

from apps.accounts.apis import auth, carriers, organisations, verification

urlpatterns = [
    path("orgs", organisations.OrganisationListApi.as_view(), name="organisation-list"),
    path("orgs/<int:organisation_id>", organisations.OrganisationDetailApi.as_view(), name="organisation-detail"),
    *auth.urlpatterns,
    *verification.urlpatterns,
    *carriers.urlpatterns,
]
