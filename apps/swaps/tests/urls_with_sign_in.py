from apps.swaps.tests.urls_sign_in import with_sign_in as urlpatterns

__all__ = ["urlpatterns"]
