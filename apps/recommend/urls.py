from django.urls import path

from apps.recommend import apis

urlpatterns = [
    path("stations/recommend", apis.StationRecommendApi.as_view(), name="station-recommend"),
]
