"""Real-name verification and the driver's own data: profile, submission, export, deletion;
and the platform's review queue with the audited reveal of an ID number.

Numbers are masked in every response except the reveal (platform admins only, audited).
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access import Actor
from apps.access.verification import sees_verification_details
from apps.accounts.models import LicenceClass, RealNameVerification, Role, User, VerificationStatus
from apps.accounts.selectors import verification as selectors
from apps.accounts.services import verification as services
from apps.common.errors import ApplicationError
from apps.common.schema import QueryChoiceField, error_response

UNVERIFIED = "unverified"  # the status of a driver who has submitted nothing yet
# Personal data must not sit in a browser's or a proxy's cache.
NO_STORE = {"Cache-Control": "no-store"}


# --- Serializers --------------------------------------------------------------------------


NOT_FOUND = error_response("`not_found`: no such submission, or not the caller's to see.")
NOT_REVIEWER = error_response("`permission_denied`: only platform admins review, and never their own submission.")


class VerificationSerializer(serializers.Serializer[RealNameVerification]):
    """A submission, masked. A carrier admin sees the name, the masked ID number and the status
    of their drivers' submissions; the other fields are null for them."""

    id = serializers.IntegerField(read_only=True)
    user_id = serializers.IntegerField(read_only=True)
    legal_name = serializers.CharField(read_only=True)
    id_number_masked = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=VerificationStatus.choices, read_only=True)
    licence_number_masked = serializers.CharField(read_only=True, allow_null=True)
    licence_class = serializers.ChoiceField(choices=LicenceClass.choices, read_only=True, allow_null=True)
    licence_expires_on = serializers.DateField(read_only=True, allow_null=True)
    reason = serializers.CharField(read_only=True, allow_null=True)
    provider = serializers.CharField(read_only=True, allow_null=True)
    submitted_at = serializers.DateTimeField(source="created_at", read_only=True, allow_null=True)
    reviewed_by = serializers.IntegerField(source="reviewed_by_id", read_only=True, allow_null=True)
    reviewed_at = serializers.DateTimeField(read_only=True, allow_null=True)

    SUMMARY_FIELDS = ("id", "user_id", "legal_name", "id_number_masked", "status")

    def to_representation(self, instance: RealNameVerification) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if not sees_verification_details(self.context["actor"], instance):
            data = {name: (value if name in self.SUMMARY_FIELDS else None) for name, value in data.items()}
        return data


class DriverMembershipOutput(serializers.Serializer[Any]):
    organisation_id = serializers.IntegerField()
    organisation_code = serializers.CharField(source="organisation.code")
    organisation_name = serializers.CharField(source="organisation.name")
    organisation_kind = serializers.CharField(source="organisation.kind")
    role = serializers.ChoiceField(choices=Role.choices)


class DriverVehicleOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    plate = serializers.CharField()
    carrier_code = serializers.CharField(source="carrier.code")


class DriverProfileOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="user.pk")
    phone = serializers.CharField(source="user.phone")
    display_name = serializers.CharField(source="user.display_name")
    date_joined = serializers.DateTimeField(source="user.date_joined")
    verification_status = serializers.SerializerMethodField()
    verification = VerificationSerializer(allow_null=True)
    memberships = DriverMembershipOutput(many=True)
    vehicles = DriverVehicleOutput(many=True)

    @extend_schema_field(serializers.ChoiceField(choices=[UNVERIFIED, *VerificationStatus.values]))
    def get_verification_status(self, profile: selectors.DriverProfile) -> str:
        """``unverified`` before any submission, else the current submission's status."""
        return profile.verification.status if profile.verification else UNVERIFIED


class VerificationSubmitInput(serializers.Serializer[Any]):
    # Lengths here only bound the input; the service checks the real formats.
    legal_name = serializers.CharField(max_length=100)
    id_number = serializers.CharField(max_length=40, help_text="18 characters; a 15-digit legacy number is refused.")
    licence_number = serializers.CharField(max_length=40)
    licence_class = serializers.CharField(max_length=8, help_text="A2 for heavy trucks; C1, C2 or higher for cars.")
    licence_expires_on = serializers.DateField()


class VerificationFilterInput(serializers.Serializer[Any]):
    status = QueryChoiceField(choices=VerificationStatus.choices, required=False)


class VerificationRejectInput(serializers.Serializer[Any]):
    # Optional here so that a missing reason answers ``reason_required`` from the service.
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class AccountDeleteInput(serializers.Serializer[Any]):
    password = serializers.CharField(trim_whitespace=False, max_length=256)


class IdNumberRevealOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    id_number = serializers.CharField()


def _user(request: Request) -> User:
    # The default permission lets only signed-in users in; this narrows the type.
    if not isinstance(request.user, User):
        raise exceptions.NotAuthenticated
    return request.user


def _verification_data(actor: Actor, verification: RealNameVerification) -> dict[str, Any]:
    return VerificationSerializer(verification, context={"actor": actor}).data


# --- The driver's own ----------------------------------------------------------------------
class DriverMeApi(APIView):
    """``GET`` the profile; ``DELETE`` the account (two operations on one path)."""

    @extend_schema(responses=DriverProfileOutput, summary="The signed-in driver's profile, verification and vehicles")
    def get(self, request: Request) -> Response:
        actor = Actor.of(request.user)
        profile = selectors.driver_profile_get(actor=actor)
        return Response(DriverProfileOutput(profile, context={"actor": actor}).data, headers=NO_STORE)

    @extend_schema(
        request=AccountDeleteInput,
        responses={204: None, 400: error_response("`password_incorrect`, or `invalid` without a password.")},
        summary="Delete the signed-in account (the password confirms); financial records stay, pseudonymised",
    )
    def delete(self, request: Request) -> Response:
        data = AccountDeleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        # Re-authentication, like the password prompt before any irreversible account change.
        user = _user(request)
        if not user.check_password(data.validated_data["password"]):
            message = _("The password is not correct.")
            raise ApplicationError("password_incorrect", message, fields={"password": [message]})
        services.account_delete(user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DriverVerificationSubmitApi(APIView):
    @extend_schema(
        request=VerificationSubmitInput,
        responses={
            201: VerificationSerializer,
            400: error_response(
                "`id_number_invalid`, `id_number_legacy`, `licence_number_invalid`, `licence_class_invalid`, "
                "`licence_expired`, `legal_name_invalid` (with `fields`), or `invalid`."
            ),
            409: error_response("`id_number_in_use`, `verification_pending` or `already_verified`."),
        },
        summary="Submit legal name, resident ID number and driving licence for review",
    )
    def post(self, request: Request) -> Response:
        data = VerificationSubmitInput(data=request.data)
        data.is_valid(raise_exception=True)
        verification = services.verification_submit(user=_user(request), **data.validated_data)
        return Response(_verification_data(Actor.of(request.user), verification), status=status.HTTP_201_CREATED)


class DriverExportApi(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Download everything swapnet holds about the signed-in driver")
    def get(self, request: Request) -> Response:
        export = services.personal_data_export(user=_user(request))
        return Response(export, headers={**NO_STORE, "Content-Disposition": 'attachment; filename="swapnet-personal-data.json"'})


# --- The review queue -----------------------------------------------------------------------
class VerificationListApi(ListAPIView[RealNameVerification]):
    serializer_class = VerificationSerializer

    @extend_schema(
        parameters=[VerificationFilterInput],
        responses={200: VerificationSerializer(many=True), 400: error_response("`invalid`: an unknown status.")},
        summary="Submissions the caller may see, oldest first (?status=pending: the platform's review queue)",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        filters = VerificationFilterInput(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.verification_list(actor=self._actor(), status=filters.validated_data.get("status"))

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "actor": self._actor()}

    def _actor(self) -> Actor:
        actor: Actor | None = getattr(self, "_cached_actor", None)
        if actor is None:
            actor = self._cached_actor = Actor.of(self.request.user)
        return actor


class VerificationDetailApi(APIView):
    @extend_schema(responses={200: VerificationSerializer, 404: NOT_FOUND}, summary="One submission (masked)")
    def get(self, request: Request, verification_id: int) -> Response:
        actor = Actor.of(request.user)
        verification = selectors.verification_get(actor=actor, verification_id=verification_id)
        return Response(_verification_data(actor, verification))


class VerificationApproveApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: VerificationSerializer,
            400: error_response("`licence_expired`: the licence expired while the submission waited."),
            403: NOT_REVIEWER,
            404: NOT_FOUND,
            409: error_response("`verification_not_pending`: already decided."),
        },
        summary="Approve a pending submission (platform admins)",
    )
    def post(self, request: Request, verification_id: int) -> Response:
        actor = Actor.of(request.user)
        verification = selectors.verification_get(actor=actor, verification_id=verification_id)
        verification = services.verification_approve(actor=actor, verification=verification)
        return Response(_verification_data(actor, verification))


class VerificationRejectApi(APIView):
    @extend_schema(
        request=VerificationRejectInput,
        responses={
            200: VerificationSerializer,
            400: error_response("`reason_required` or `reason_too_long`."),
            403: NOT_REVIEWER,
            404: NOT_FOUND,
            409: error_response("`verification_not_pending`: already decided."),
        },
        summary="Reject a pending submission with a reason (platform admins)",
    )
    def post(self, request: Request, verification_id: int) -> Response:
        actor = Actor.of(request.user)
        data = VerificationRejectInput(data=request.data)
        data.is_valid(raise_exception=True)
        verification = selectors.verification_get(actor=actor, verification_id=verification_id)
        verification = services.verification_reject(actor=actor, verification=verification, reason=data.validated_data["reason"])
        return Response(_verification_data(actor, verification))


class VerificationRevealApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: IdNumberRevealOutput,
            404: error_response("`not_found`: no such submission, or the caller is not a platform admin."),
            409: error_response("`id_number_erased`: the account was deleted."),
        },
        summary="The full ID number (platform admins only; every reveal is audited)",
    )
    def post(self, request: Request, verification_id: int) -> Response:
        actor = Actor.of(request.user)
        verification = selectors.verification_get(actor=actor, verification_id=verification_id)
        id_number = services.id_number_reveal(actor=actor, verification=verification)
        return Response({"id": verification.pk, "id_number": id_number}, headers=NO_STORE)


urlpatterns = [
    path("drivers/me", DriverMeApi.as_view(), name="driver-me"),
    path("drivers/me/verification", DriverVerificationSubmitApi.as_view(), name="driver-verification-submit"),
    path("drivers/me/export", DriverExportApi.as_view(), name="driver-export"),
    path("verifications", VerificationListApi.as_view(), name="verification-list"),
    path("verifications/<int:verification_id>", VerificationDetailApi.as_view(), name="verification-detail"),
    path("verifications/<int:verification_id>/approve", VerificationApproveApi.as_view(), name="verification-approve"),
    path("verifications/<int:verification_id>/reject", VerificationRejectApi.as_view(), name="verification-reject"),
    path("verifications/<int:verification_id>/reveal", VerificationRevealApi.as_view(), name="verification-reveal"),
]
