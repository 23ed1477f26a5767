"""Model fields whose values are AES-256-GCM encrypted in the database.

The associated data binds each ciphertext to schema, table, column and primary key. The primary
key must therefore exist before the first save: models with encrypted fields use UUID keys
generated in Python (`docos.models.UUIDModel`).

Values are decrypted lazily, on first attribute access, because `from_db_value` cannot see the
row's primary key. The schema is captured at load time from the connection that read the row.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from docos import crypto
from docos.tenancy import current_schema


class Sealed(bytes):
    """Ciphertext as read from the database, remembering the schema it came from."""

    schema: str

    def __new__(cls, value: bytes, schema: str) -> Sealed:
        obj = super().__new__(cls, value)
        obj.schema = schema
        return obj


class _EncryptedDescriptor:
    def __init__(self, field: EncryptedFieldMixin) -> None:
        self.field = field

    def __get__(self, instance: models.Model | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__.get(self.field.attname)
        if isinstance(value, Sealed):
            value = self.field.decrypt_for(instance, value)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


class EncryptedFieldMixin(models.BinaryField):
    """Stores ciphertext in a bytea column; Python code only ever sees plaintext."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", True)
        super().__init__(*args, **kwargs)

    # Subclasses convert between the Python value and plaintext bytes.
    def to_plaintext(self, value: Any) -> bytes:
        raise NotImplementedError

    def from_plaintext(self, data: bytes) -> Any:
        raise NotImplementedError

    def contribute_to_class(self, cls: type[models.Model], name: str, *args: Any, **kwargs: Any) -> None:
        super().contribute_to_class(cls, name, *args, **kwargs)
        setattr(cls, self.attname, _EncryptedDescriptor(self))

    def aad_for(self, instance: models.Model, schema: str) -> bytes:
        if instance.pk is None:
            raise ValueError(f"{type(instance).__name__} needs a primary key before encrypting {self.name}.")
        return crypto.field_aad(schema, instance._meta.db_table, str(self.column), instance.pk)

    def decrypt_for(self, instance: models.Model, sealed: Sealed) -> Any:
        return self.from_plaintext(crypto.decrypt_value(sealed, self.aad_for(instance, sealed.schema)))

    def from_db_value(self, value: Any, expression: Any, conn: Any) -> Any:
        if value is None:
            return None
        return Sealed(bytes(value), conn.schema_name)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if value is None:
            return None
        schema = current_schema()
        return crypto.encrypt_value(self.to_plaintext(value), self.aad_for(model_instance, schema))

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)) or value is None:
            return super().get_db_prep_value(value, connection, prepared)
        raise TypeError("Encrypted fields cannot be used in lookups; filter on another column.")

    def value_to_string(self, obj: models.Model) -> str:
        raise TypeError("Encrypted fields are not serialisable.")


class EncryptedTextField(EncryptedFieldMixin):
    def to_plaintext(self, value: Any) -> bytes:
        return str(value).encode()

    def from_plaintext(self, data: bytes) -> str:
        return data.decode()


class EncryptedJSONField(EncryptedFieldMixin):
    def to_plaintext(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()

    def from_plaintext(self, data: bytes) -> Any:
        return json.loads(data)
