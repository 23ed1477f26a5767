"""Small reference serializers (a location or other named object, a staff member) shared by every
app's API: one class per shape, as OpenAPI components are named after the class and two classes of
one name make drf-spectacular guess (the patient reference is in patients.api_refs)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class RefOutput(serializers.Serializer[Any]):
    """A location (or other named object) by id and name."""

    id = serializers.UUIDField()
    name = serializers.CharField()


class StaffRefOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    full_name = serializers.CharField()
