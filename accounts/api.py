"""Accounts API: the caller's profile, the locations they may work at, and the staff directory.

One view per operation, small output serializers, every view names its `required_capability`
(checked by `docos.permissions.HasRequiredCapability`, the DRF default permission).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Location, Role, User
from accounts.selectors import STAFF_STATUSES, locations_for, staff_search, user_location_ids
from docos.api_errors import error_responses

# --- serializers ---------------------------------------------------------------------------------


class RoleOutput(serializers.Serializer[Role]):
    slug = serializers.SlugField()
    name = serializers.CharField()


class LocationBriefOutput(serializers.Serializer[Location]):
    id = serializers.UUIDField()
    name = serializers.CharField()


class LocationOutput(serializers.Serializer[Location]):
    id = serializers.UUIDField()
    name = serializers.CharField()
    address = serializers.CharField()
    phone = serializers.CharField()
    gstin = serializers.CharField(help_text="The branch's own GSTIN; empty when the clinic's applies.")
    registration_number = serializers.CharField(help_text="Clinical establishment registration, if recorded.")
    timezone = serializers.CharField()


class ClinicOutput(serializers.Serializer[Any]):
    name = serializers.CharField()
    slug = serializers.CharField()


class MeOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    phone = serializers.CharField()
    registration_number = serializers.CharField()
    qualifications = serializers.CharField()
    two_factor_enabled = serializers.BooleanField()
    role = RoleOutput(allow_null=True)
    capabilities = serializers.ListField(child=serializers.CharField(), help_text="Sorted capability codes.")
    all_locations = serializers.BooleanField(help_text="True when the user is not restricted to some locations.")
    locations = LocationBriefOutput(many=True, help_text="The active locations the user may work at.")
    clinic = ClinicOutput()


class StaffOutput(serializers.Serializer[User]):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    is_active = serializers.BooleanField()
    role = RoleOutput(allow_null=True)
    locations = LocationBriefOutput(
        many=True, source="locations.all", help_text="Assigned locations; empty means every location."
    )


class StaffDetailOutput(StaffOutput):
    phone = serializers.CharField()
    registration_number = serializers.CharField()
    qualifications = serializers.CharField()
    two_factor_enabled = serializers.BooleanField(source="totp_enabled")
    date_joined = serializers.DateTimeField()
    last_login = serializers.DateTimeField(allow_null=True)


class StaffListQuery(serializers.Serializer[Any]):
    openapi_examples = {"role": "doctor"}

    q = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="Text in the name, email or phone."
    )
    role = serializers.SlugField(required=False, help_text="A role slug, e.g. `doctor`.")
    status = serializers.ChoiceField(
        choices=list(STAFF_STATUSES.items()), required=False, default="active", help_text="Default: `active`."
    )

    def validate_role(self, value: str) -> Role:
        role = Role.objects.filter(slug=value).first()
        if role is None:
            raise serializers.ValidationError(f"There is no role {value!r}.")
        return role


# --- views ---------------------------------------------------------------------------------------


class MeView(APIView):
    required_capability = "login"

    @extend_schema(
        operation_id="me_retrieve",
        summary="The signed-in user",
        description="Profile, role, capabilities, allowed locations and clinic of the caller. Any signed-in staff.",
        responses={200: MeOutput, **error_responses(401)},
        tags=["account"],
    )
    def get(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]
        clinic = request._request.tenant  # type: ignore[attr-defined]
        data = {
            "id": user.pk,
            "email": user.email,
            "full_name": user.full_name,
            "phone": user.phone,
            "registration_number": user.registration_number,
            "qualifications": user.qualifications,
            "two_factor_enabled": user.totp_enabled,
            "role": user.role,
            "capabilities": sorted(user.capabilities),
            "all_locations": user_location_ids(user) is None,
            "locations": list(locations_for(user).order_by("name")),
            "clinic": {"name": clinic.name, "slug": clinic.slug},
        }
        return Response(MeOutput(data).data)


class LocationListView(generics.ListAPIView[Location]):
    required_capability = "login"
    serializer_class = LocationOutput

    def get_queryset(self) -> QuerySet[Location]:
        return locations_for(self.request.user).order_by("name")

    @extend_schema(
        operation_id="locations_list",
        summary="Locations the caller may work at",
        description="Active locations of the clinic; only the assigned ones for staff restricted to locations.",
        responses={200: LocationOutput(many=True), **error_responses(401)},
        tags=["account"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class StaffListView(generics.ListAPIView[User]):
    required_capability = "staff.manage"
    serializer_class = StaffOutput

    def get_queryset(self) -> QuerySet[User]:
        query = StaffListQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        return staff_search(
            actor=self.request.user,
            query=filters.get("q", ""),
            status=filters["status"],
            role=filters.get("role"),
        )

    @extend_schema(
        operation_id="staff_list",
        summary="Staff of the clinic",
        description="Requires `staff.manage`. Filter with `q` (name, email, phone), `role` and `status`. "
        "A manager restricted to some locations sees only staff working within them.",
        parameters=[StaffListQuery],
        responses={200: StaffOutput(many=True), **error_responses(400, 401, 403)},
        tags=["staff"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class StaffDetailView(generics.RetrieveAPIView[User]):
    required_capability = "staff.manage"
    serializer_class = StaffDetailOutput
    lookup_url_kwarg = "id"

    def get_queryset(self) -> QuerySet[User]:
        return staff_search(actor=self.request.user, status="all")

    @extend_schema(
        operation_id="staff_retrieve",
        summary="One member of staff",
        description="Requires `staff.manage`. An unknown id, or staff outside the caller's locations, gives 404.",
        responses={200: StaffDetailOutput, **error_responses(401, 403, 404)},
        tags=["staff"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
