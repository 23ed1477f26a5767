"""Small reference serializers (a location, a staff member) shared by the clinical and document APIs."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class ClinicalRefOutput(serializers.Serializer[Any]):
    """A location (or other named object) by id and name. Unique class name: OpenAPI components are
    named after it, and appointments has a `RefOutput` of its own."""

    id = serializers.UUIDField()
    name = serializers.CharField()


RefOutput = ClinicalRefOutput


class StaffRefOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    full_name = serializers.CharField()
