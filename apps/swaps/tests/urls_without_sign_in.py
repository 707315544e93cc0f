from apps.swaps.tests.urls_sign_in import without_sign_in as urlpatterns

__all__ = ["urlpatterns"]
