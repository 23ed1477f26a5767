import uuid

from django.db import models


class UUIDModel(models.Model):
    """Primary key made in Python, so encrypted fields can bind their ciphertext to the row on insert."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    class Meta:
        abstract = True
