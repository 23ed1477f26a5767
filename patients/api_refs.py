"""The patient as other apps' API outputs refer to it (an appointment's, a conversation's patient)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class PatientRefOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    mrn = serializers.CharField()
    full_name = serializers.CharField()
