"""Carriers, their certification and fleets, driver invitations, private car owners and station
staff. One view per path, one method per operation: validate input -> selector -> one service ->
serialize. What the caller may not see answers 404 ``not_found``; what they see but may not
change answers 403 ``permission_denied`` (from the service).

Money is ``{"amount_fen": int, "currency": "CNY"}`` (API.md); an empty limit is ``null``.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access import Actor
from apps.accounts.models import (
    CarrierCertification,
    CertificationStatus,
    DriverInvitation,
    Membership,
    Organisation,
    RealNameVerification,
    User,
    VerificationStatus,
)
from apps.accounts.selectors import carriers as selectors
from apps.accounts.services import carriers as services
from apps.assets import selectors as asset_selectors
from apps.assets.models import Vehicle
from apps.assets.serializers import VehicleSerializer
from apps.common.money import money_json
from apps.common.schema import MoneySerializer

PLATE = OpenApiParameter("plate", OpenApiTypes.STR, OpenApiParameter.PATH, description="The vehicle's plate, e.g. 冀J12345D.")


def _signed_in_user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)  # IsAuthenticated ran first
    return user


# --- Shapes -----------------------------------------------------------------------------
@extend_schema_field(OpenApiTypes.INT)
class _RawAmountField(serializers.Field):
    """Passes the JSON value through: whether it is a valid amount is the service's to say
    (``limit_invalid``), not a generic ``invalid``."""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class MoneyInput(serializers.Serializer[Any]):
    amount_fen = _RawAmountField()
    currency = serializers.ChoiceField(choices=["CNY"], default="CNY")


def _money_or_none(amount_fen: int | None) -> dict[str, int | str] | None:
    return None if amount_fen is None else money_json(amount_fen)


class CertificationSerializer(serializers.ModelSerializer[CarrierCertification]):
    carrier = serializers.IntegerField(source="organisation_id")
    carrier_code = serializers.CharField(source="organisation.code")
    applied_at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = CarrierCertification
        fields = [
            "id",
            "carrier",
            "carrier_code",
            "company_name",
            "credit_code",
            "contact_name",
            "contact_phone",
            "status",
            "reason",
            "applied_at",
            "reviewed_at",
        ]


class CarrierCertificationStatusSerializer(serializers.Serializer[Any]):
    """A carrier's standing in the network and its latest application."""

    carrier = serializers.IntegerField(source="organisation.pk")
    status = serializers.ChoiceField(source="organisation.certification_status", choices=CertificationStatus.choices)
    may_swap = serializers.BooleanField()
    application = CertificationSerializer(allow_null=True)


def _certification_status(*, actor: Actor, carrier: Organisation) -> dict[str, Any]:
    carrier.refresh_from_db(fields=["certification_status"])
    latest = selectors.certification_latest(actor=actor, carrier=carrier)
    state = {"organisation": carrier, "may_swap": selectors.carrier_may_swap(carrier=carrier), "application": latest}
    return dict(CarrierCertificationStatusSerializer(state).data)


class AssignedDriverSerializer(serializers.Serializer[Any]):
    user_id = serializers.IntegerField(source="driver_id")
    display_name = serializers.CharField(source="driver.display_name")


class FleetVehicleSerializer(VehicleSerializer):
    drivers = AssignedDriverSerializer(source="assignments", many=True, read_only=True)

    class Meta(VehicleSerializer.Meta):
        fields = [*VehicleSerializer.Meta.fields, "drivers"]


class DriverVerificationSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=VerificationStatus.choices)
    licence_class = serializers.CharField()
    licence_expires_on = serializers.DateField()
    id_number_masked = serializers.CharField()


class DriverSerializer(serializers.ModelSerializer[Membership]):
    """A driver of the fleet as its admins see them: name, phone, masked ID, status, limits."""

    user_id = serializers.IntegerField()
    display_name = serializers.CharField(source="user.display_name")
    phone = serializers.CharField(source="user.phone")
    verification = serializers.SerializerMethodField()
    limit_per_swap = serializers.SerializerMethodField()
    limit_per_day = serializers.SerializerMethodField()
    vehicles = serializers.SerializerMethodField()
    joined_at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Membership
        fields = ["user_id", "display_name", "phone", "verification", "limit_per_swap", "limit_per_day", "vehicles", "joined_at"]

    @extend_schema_field(DriverVerificationSerializer(allow_null=True))
    def get_verification(self, membership: Membership) -> dict[str, Any] | None:
        # Newest first (prefetched by the selector); a live one wins over older rejections.
        submissions: list[RealNameVerification] = list(membership.user.verifications.all())
        live = [row for row in submissions if row.status != VerificationStatus.REJECTED]
        current = live or submissions
        return dict(DriverVerificationSerializer(current[0]).data) if current else None

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_limit_per_swap(self, membership: Membership) -> dict[str, int | str] | None:
        return _money_or_none(membership.limit_per_swap_fen)

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_limit_per_day(self, membership: Membership) -> dict[str, int | str] | None:
        return _money_or_none(membership.limit_per_day_fen)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_vehicles(self, membership: Membership) -> list[str]:
        """Plates of this carrier's vehicles the driver is assigned to."""
        assignments = getattr(membership.user, "fleet_assignments", None)
        if assignments is None:
            assignments = membership.user.vehicle_assignments.filter(vehicle__carrier_id=membership.organisation_id)
        return sorted(assignment.vehicle.plate for assignment in assignments)


class InvitationCarrierSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class InvitationSerializer(serializers.ModelSerializer[DriverInvitation]):
    carrier = InvitationCarrierSerializer()

    class Meta:
        model = DriverInvitation
        fields = ["id", "carrier", "phone", "status", "created_at", "responded_at"]


class StaffSerializer(serializers.ModelSerializer[Membership]):
    user_id = serializers.IntegerField()
    display_name = serializers.CharField(source="user.display_name")
    phone = serializers.CharField(source="user.phone")
    station = serializers.CharField(source="station.code")

    class Meta:
        model = Membership
        fields = ["id", "user_id", "display_name", "phone", "station", "created_at"]


# --- Inputs -----------------------------------------------------------------------------
def _text_input(**kwargs: Any) -> serializers.CharField:
    # Blank and odd values reach the service, which answers with the stable code.
    return serializers.CharField(allow_blank=True, trim_whitespace=False, **kwargs)


class CertificationApplyInput(serializers.Serializer[Any]):
    company_name = _text_input()
    credit_code = _text_input(help_text="Unified social credit code, 18 characters with its check character.")
    contact_name = _text_input()
    contact_phone = _text_input()


class CertificationRejectInput(serializers.Serializer[Any]):
    reason = _text_input(required=False, default="")


class CertificationFilterInput(serializers.Serializer[Any]):
    status = serializers.CharField(required=False, help_text="pending for the review queue")


class VehicleAddInput(serializers.Serializer[Any]):
    plate = _text_input()
    vin = _text_input()
    pack_standard = _text_input(help_text="Pack standard code, e.g. HT-282-LFP.")
    model_name = _text_input(required=False, default="")


class DriverInviteInput(serializers.Serializer[Any]):
    phone = _text_input()


class DriverLimitsInput(serializers.Serializer[Any]):
    limit_per_swap = MoneyInput(allow_null=True)
    limit_per_day = MoneyInput(allow_null=True)


class AssignmentInput(serializers.Serializer[Any]):
    driver = serializers.IntegerField(help_text="The driver's user id.")


class StaffAddInput(serializers.Serializer[Any]):
    phone = _text_input(help_text="The registered mobile number of the member of staff.")
    station_codes = serializers.ListField(child=serializers.CharField(), allow_empty=True)


# --- Certification ----------------------------------------------------------------------
class CarrierCertificationApi(APIView):
    @extend_schema(responses=CarrierCertificationStatusSerializer, summary="A carrier's certification and latest application")
    def get(self, request: Request, carrier_id: int) -> Response:
        actor = Actor.of(request.user)
        carrier = selectors.carrier_get(actor=actor, carrier_id=carrier_id)
        return Response(_certification_status(actor=actor, carrier=carrier))

    @extend_schema(
        request=CertificationApplyInput,
        responses={201: CertificationSerializer},
        summary="Apply to join the network (the carrier's admins)",
    )
    def post(self, request: Request, carrier_id: int) -> Response:
        actor = Actor.of(request.user)
        data = CertificationApplyInput(data=request.data)
        data.is_valid(raise_exception=True)
        carrier = selectors.carrier_get(actor=actor, carrier_id=carrier_id)
        certification = services.certification_apply(actor=actor, carrier=carrier, **data.validated_data)
        return Response(CertificationSerializer(certification).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses=CarrierCertificationStatusSerializer,
        summary="Deregister: no new swaps from now on; history and what is owed stay",
    )
    def delete(self, request: Request, carrier_id: int) -> Response:
        actor = Actor.of(request.user)
        carrier = selectors.carrier_get(actor=actor, carrier_id=carrier_id)
        services.carrier_deregister(actor=actor, carrier=carrier)
        return Response(_certification_status(actor=actor, carrier=carrier))


class CertificationListApi(ListAPIView[CarrierCertification]):
    serializer_class = CertificationSerializer

    @extend_schema(parameters=[CertificationFilterInput], summary="Applications (the platform's review queue: ?status=pending)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        # The raw value: the selector refuses an unknown or empty ?status= (DRF would read "" as absent).
        return selectors.certification_list(actor=Actor.of(self.request.user), status=self.request.query_params.get("status"))


class CertificationApproveApi(APIView):
    @extend_schema(request=None, responses=CertificationSerializer, summary="Approve an application (platform admins)")
    def post(self, request: Request, certification_id: int) -> Response:
        actor = Actor.of(request.user)
        certification = selectors.certification_get(actor=actor, certification_id=certification_id)
        decided = services.certification_approve(actor=actor, certification=certification)
        return Response(CertificationSerializer(decided).data)


class CertificationRejectApi(APIView):
    @extend_schema(
        request=CertificationRejectInput, responses=CertificationSerializer, summary="Reject an application with a reason"
    )
    def post(self, request: Request, certification_id: int) -> Response:
        actor = Actor.of(request.user)
        data = CertificationRejectInput(data=request.data)
        data.is_valid(raise_exception=True)
        certification = selectors.certification_get(actor=actor, certification_id=certification_id)
        decided = services.certification_reject(actor=actor, certification=certification, reason=data.validated_data["reason"])
        return Response(CertificationSerializer(decided).data)


# --- Vehicles ---------------------------------------------------------------------------
class CarrierVehicleListApi(ListAPIView[Vehicle]):
    serializer_class = FleetVehicleSerializer

    @extend_schema(summary="The carrier's vehicles with their assigned drivers")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        actor = Actor.of(self.request.user)
        carrier = selectors.carrier_get(actor=actor, carrier_id=self.kwargs["carrier_id"])
        return selectors.carrier_vehicle_list(actor=actor, carrier=carrier)

    @extend_schema(request=VehicleAddInput, responses={201: FleetVehicleSerializer}, summary="Add a vehicle to the fleet")
    def post(self, request: Request, carrier_id: int) -> Response:
        actor = Actor.of(request.user)
        data = VehicleAddInput(data=request.data)
        data.is_valid(raise_exception=True)
        carrier = selectors.carrier_get(actor=actor, carrier_id=carrier_id)
        values = data.validated_data
        vehicle = services.vehicle_add(
            actor=actor,
            carrier=carrier,
            plate=values["plate"],
            vin=values["vin"],
            pack_standard_code=values["pack_standard"],
            model_name=values["model_name"],
        )
        return Response(FleetVehicleSerializer(vehicle).data, status=status.HTTP_201_CREATED)


class CarrierVehicleDetailApi(APIView):
    @extend_schema(
        parameters=[PLATE], request=None, responses={204: None}, summary="Remove a vehicle (it must carry no network battery)"
    )
    def delete(self, request: Request, carrier_id: int, plate: str) -> Response:
        actor = Actor.of(request.user)
        carrier = selectors.carrier_get(actor=actor, carrier_id=carrier_id)
        vehicle = selectors.carrier_vehicle_get(actor=actor, carrier=carrier, plate=plate)
        services.vehicle_remove(actor=actor, vehicle=vehicle)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VehicleAssignmentListApi(APIView):
    @extend_schema(
        parameters=[PLATE],
        request=AssignmentInput,
        responses={201: FleetVehicleSerializer},
        summary="Assign one of the carrier's verified drivers to the vehicle",
    )
    def post(self, request: Request, plate: str) -> Response:
        actor = Actor.of(request.user)
        data = AssignmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        vehicle = asset_selectors.vehicle_get(actor=actor, plate=plate)
        driver = selectors.assignment_driver_get(actor=actor, vehicle=vehicle, user_id=data.validated_data["driver"])
        services.vehicle_assign(actor=actor, vehicle=vehicle, driver=driver)
        return Response(_fleet_vehicle(actor=actor, vehicle=vehicle), status=status.HTTP_201_CREATED)


def _fleet_vehicle(*, actor: Actor, vehicle: Vehicle) -> dict[str, Any]:
    fresh = asset_selectors.vehicle_get(actor=actor, plate=vehicle.plate)
    return dict(FleetVehicleSerializer(fresh).data)


class VehicleAssignmentDetailApi(APIView):
    @extend_schema(parameters=[PLATE], request=None, responses={204: None}, summary="Unassign a driver from the vehicle")
    def delete(self, request: Request, plate: str, user_id: int) -> Response:
        actor = Actor.of(request.user)
        vehicle = asset_selectors.vehicle_get(actor=actor, plate=plate)
        assignment = selectors.assignment_get(actor=actor, vehicle=vehicle, user_id=user_id)
        services.vehicle_unassign(actor=actor, vehicle=vehicle, driver=assignment.driver)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyVehicleListApi(APIView):
    @extend_schema(
        request=VehicleAddInput,
        responses={201: FleetVehicleSerializer},
        summary="A private car owner adds their own vehicle (and becomes a carrier of one)",
    )
    def post(self, request: Request) -> Response:
        user = _signed_in_user(request)
        data = VehicleAddInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        vehicle = services.individual_vehicle_add(
            user=user,
            plate=values["plate"],
            vin=values["vin"],
            pack_standard_code=values["pack_standard"],
            model_name=values["model_name"],
        )
        return Response(_fleet_vehicle(actor=Actor.of(user), vehicle=vehicle), status=status.HTTP_201_CREATED)


# --- Drivers and invitations ------------------------------------------------------------
class CarrierDriverListApi(ListAPIView[Membership]):
    serializer_class = DriverSerializer

    @extend_schema(summary="The carrier's drivers with verification, limits and vehicles")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        actor = Actor.of(self.request.user)
        carrier = selectors.carrier_get(actor=actor, carrier_id=self.kwargs["carrier_id"])
        return selectors.carrier_driver_list(actor=actor, carrier=carrier)

    @extend_schema(request=DriverInviteInput, responses={201: InvitationSerializer}, summary="Invite a driver by mobile number")
    def post(self, request: Request, carrier_id: int) -> Response:
        actor = Actor.of(request.user)
        data = DriverInviteInput(data=request.data)
        data.is_valid(raise_exception=True)
        carrier = selectors.carrier_get(actor=actor, carrier_id=carrier_id)
        invitation = services.driver_invite(actor=actor, carrier=carrier, phone=data.validated_data["phone"])
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class CarrierDriverDetailApi(APIView):
    @extend_schema(request=None, responses={204: None}, summary="Remove a driver (and their assignments) from the fleet")
    def delete(self, request: Request, carrier_id: int, user_id: int) -> Response:
        actor = Actor.of(request.user)
        carrier = selectors.carrier_get(actor=actor, carrier_id=carrier_id)
        membership = selectors.carrier_driver_get(actor=actor, carrier=carrier, user_id=user_id)
        services.driver_remove(actor=actor, carrier=carrier, driver=membership.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CarrierDriverLimitsApi(APIView):
    @extend_schema(
        request=DriverLimitsInput, responses=DriverSerializer, summary="Set a driver's spending limits (null: no limit)"
    )
    def put(self, request: Request, carrier_id: int, user_id: int) -> Response:
        actor = Actor.of(request.user)
        data = DriverLimitsInput(data=request.data)
        data.is_valid(raise_exception=True)
        carrier = selectors.carrier_get(actor=actor, carrier_id=carrier_id)
        membership = selectors.carrier_driver_get(actor=actor, carrier=carrier, user_id=user_id)
        per_swap, per_day = data.validated_data["limit_per_swap"], data.validated_data["limit_per_day"]
        services.driver_limits_set(
            actor=actor,
            carrier=carrier,
            driver=membership.user,
            per_swap_fen=None if per_swap is None else per_swap["amount_fen"],
            per_day_fen=None if per_day is None else per_day["amount_fen"],
        )
        fresh = selectors.carrier_driver_get(actor=actor, carrier=carrier, user_id=user_id)
        return Response(DriverSerializer(fresh).data)


class CarrierInvitationListApi(ListAPIView[DriverInvitation]):
    serializer_class = InvitationSerializer

    @extend_schema(summary="The carrier's driver invitations, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        actor = Actor.of(self.request.user)
        carrier = selectors.carrier_get(actor=actor, carrier_id=self.kwargs["carrier_id"])
        return selectors.carrier_invitation_list(actor=actor, carrier=carrier)


class CarrierInvitationDetailApi(APIView):
    @extend_schema(request=None, responses=InvitationSerializer, summary="Revoke a pending invitation")
    def delete(self, request: Request, carrier_id: int, invitation_id: int) -> Response:
        actor = Actor.of(request.user)
        carrier = selectors.carrier_get(actor=actor, carrier_id=carrier_id)
        invitation = selectors.carrier_invitation_get(actor=actor, carrier=carrier, invitation_id=invitation_id)
        revoked = services.invitation_revoke(actor=actor, invitation=invitation)
        return Response(InvitationSerializer(revoked).data)


class MyInvitationListApi(ListAPIView[DriverInvitation]):
    serializer_class = InvitationSerializer

    @extend_schema(summary="Invitations to the caller's mobile number, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        return selectors.my_invitation_list(actor=Actor.of(self.request.user))


class InvitationAcceptApi(APIView):
    @extend_schema(request=None, responses=InvitationSerializer, summary="Accept an invitation: join the fleet as a driver")
    def post(self, request: Request, invitation_id: int) -> Response:
        user = _signed_in_user(request)
        invitation = selectors.invitation_get(actor=Actor.of(user), invitation_id=invitation_id)
        services.invitation_accept(user=user, invitation=invitation)
        invitation.refresh_from_db()
        return Response(InvitationSerializer(invitation).data)


class InvitationDeclineApi(APIView):
    @extend_schema(request=None, responses=InvitationSerializer, summary="Decline an invitation")
    def post(self, request: Request, invitation_id: int) -> Response:
        user = _signed_in_user(request)
        invitation = selectors.invitation_get(actor=Actor.of(user), invitation_id=invitation_id)
        declined = services.invitation_decline(user=user, invitation=invitation)
        return Response(InvitationSerializer(declined).data)


# --- Station staff ----------------------------------------------------------------------
class OperatorStaffListApi(ListAPIView[Membership]):
    serializer_class = StaffSerializer

    @extend_schema(summary="The operator's station staff, one row per station binding")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        actor = Actor.of(self.request.user)
        operator = selectors.staff_operator_get(actor=actor, organisation_id=self.kwargs["organisation_id"])
        return selectors.staff_list(actor=actor, operator=operator)

    @extend_schema(
        request=StaffAddInput,
        responses={201: StaffSerializer(many=True)},
        summary="Bind a registered user as staff of some of the operator's stations",
    )
    def post(self, request: Request, organisation_id: int) -> Response:
        actor = Actor.of(request.user)
        data = StaffAddInput(data=request.data)
        data.is_valid(raise_exception=True)
        operator = selectors.staff_operator_get(actor=actor, organisation_id=organisation_id)
        memberships = services.staff_add(actor=actor, operator=operator, **data.validated_data)
        return Response(StaffSerializer(memberships, many=True).data, status=status.HTTP_201_CREATED)


class OperatorStaffDetailApi(APIView):
    @extend_schema(request=None, responses={204: None}, summary="Unbind a member of staff from one station")
    def delete(self, request: Request, organisation_id: int, membership_id: int) -> Response:
        actor = Actor.of(request.user)
        operator = selectors.staff_operator_get(actor=actor, organisation_id=organisation_id)
        membership = selectors.staff_membership_get(actor=actor, operator=operator, membership_id=membership_id)
        services.staff_remove(actor=actor, membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Paths relative to api/v1/. ``vehicles/<plate>/assignments`` cannot clash with the assets
# app's ``vehicles/<plate>``: the str converter never matches a slash.
urlpatterns = [
    path("carriers/<int:carrier_id>/certification", CarrierCertificationApi.as_view(), name="carrier-certification"),
    path("certifications", CertificationListApi.as_view(), name="certification-list"),
    path("certifications/<int:certification_id>/approve", CertificationApproveApi.as_view(), name="certification-approve"),
    path("certifications/<int:certification_id>/reject", CertificationRejectApi.as_view(), name="certification-reject"),
    path("carriers/<int:carrier_id>/vehicles", CarrierVehicleListApi.as_view(), name="carrier-vehicle-list"),
    path("carriers/<int:carrier_id>/vehicles/<str:plate>", CarrierVehicleDetailApi.as_view(), name="carrier-vehicle-detail"),
    path("carriers/<int:carrier_id>/drivers", CarrierDriverListApi.as_view(), name="carrier-driver-list"),
    path("carriers/<int:carrier_id>/drivers/<int:user_id>", CarrierDriverDetailApi.as_view(), name="carrier-driver-detail"),
    path(
        "carriers/<int:carrier_id>/drivers/<int:user_id>/limits", CarrierDriverLimitsApi.as_view(), name="carrier-driver-limits"
    ),
    path("carriers/<int:carrier_id>/invitations", CarrierInvitationListApi.as_view(), name="carrier-invitation-list"),
    path(
        "carriers/<int:carrier_id>/invitations/<int:invitation_id>",
        CarrierInvitationDetailApi.as_view(),
        name="carrier-invitation-detail",
    ),
    path("vehicles/<str:plate>/assignments", VehicleAssignmentListApi.as_view(), name="vehicle-assignment-list"),
    path(
        "vehicles/<str:plate>/assignments/<int:user_id>", VehicleAssignmentDetailApi.as_view(), name="vehicle-assignment-detail"
    ),
    path("invitations", MyInvitationListApi.as_view(), name="invitation-list"),
    path("invitations/<int:invitation_id>/accept", InvitationAcceptApi.as_view(), name="invitation-accept"),
    path("invitations/<int:invitation_id>/decline", InvitationDeclineApi.as_view(), name="invitation-decline"),
    path("me/vehicles", MyVehicleListApi.as_view(), name="my-vehicle-list"),
    path("orgs/<int:organisation_id>/staff", OperatorStaffListApi.as_view(), name="operator-staff-list"),
    path("orgs/<int:organisation_id>/staff/<int:membership_id>", OperatorStaffDetailApi.as_view(), name="operator-staff-detail"),
]
