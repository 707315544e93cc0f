from django.urls import path

from apps.accounts import apis

urlpatterns = [
    path("orgs", apis.OrganisationListApi.as_view(), name="organisation-list"),
    path("orgs/<int:organisation_id>", apis.OrganisationDetailApi.as_view(), name="organisation-detail"),
]
