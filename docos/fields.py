"""Model fields whose values are AES-256-GCM encrypted in the database.

The associated data binds each ciphertext to schema, table, column and primary key. The primary
key must therefore exist before the first save: models with encrypted fields use UUID keys
generated in Python (`docos.models.UUIDModel`); a system check (docos.E010) enforces it.

Values are encrypted when the SQL compiler prepares them, with the schema of the connection that
writes the row, and decrypted lazily, on first attribute access, because `from_db_value` cannot
see the row's primary key; the schema is captured at load time from the connection that read it.
A ciphertext that does not belong to its row (copied from another row, column or clinic) raises
`docos.crypto.DecryptionError` on access; it never reads as an empty value.

Which key: by default the master key ring (credentials such as TOTP secrets, which also live in
the public schema). `clinic_key=True` encrypts with the data key of the clinic whose schema holds
the row (patient and clinical data), so crypto-shredding the clinic makes those values unreadable
too; such fields exist only in clinic schemas. Decryption follows the ciphertext's layout, so a
column that switched keys still reads its older values until they are rewritten (see
`encryption_rotate`, which rewrites them, and docos.migration_ops.EncryptField).

Encrypted columns cannot be filtered on, ordered by or written with `QuerySet.update()`/`bulk_update()`
(except to NULL): write them through model `save()`/`bulk_create()`, which encrypt per row, and
search or sort them in Python. `max_length` limits the plaintext (model validation and form fields);
the bytea column itself has no limit.
"""

from __future__ import annotations

import json
import uuid
from functools import lru_cache
from typing import Any, ClassVar

from django import forms
from django.core import checks, validators
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from docos import crypto


class Sealed(bytes):
    """Ciphertext as read from the database, remembering the schema it came from.

    Make one with `seal(blob, schema)`. Each schema gets its own (cached) subclass carrying the
    schema as a class attribute, so loading a row costs no more than copying the bytes.
    """

    __slots__ = ()
    schema: ClassVar[str] = ""

    def __reduce__(self) -> tuple[Any, ...]:  # pickling/deepcopy of model instances (e.g. the cache)
        return (seal, (bytes(self), self.schema))

    def __repr__(self) -> str:
        return f"<Sealed {len(self)} bytes from {self.schema!r}>"


_SEALED_BY_SCHEMA: dict[str, type[Sealed]] = {}


def seal(value: bytes, schema: str) -> Sealed:
    cls = _SEALED_BY_SCHEMA.get(schema)
    if cls is None:
        cls = _SEALED_BY_SCHEMA[schema] = type(f"Sealed[{schema}]", (Sealed,), {"__slots__": (), "schema": schema})
    return cls(value)


_PK_TEXT = "_docos_pk_text"


@lru_cache(maxsize=65536)
def _aad_prefix(schema: str, table: str, column: str) -> bytes:
    return crypto.field_aad(schema, table, column, "")


class _PendingEncryption:
    """What `pre_save` hands to the SQL compiler: encrypted once the writing connection is known."""

    __slots__ = ("instance", "value")

    def __init__(self, instance: models.Model, value: Any) -> None:
        self.instance = instance
        self.value = value


class _EncryptedDescriptor(DeferredAttribute):
    """Loads deferred values like Django does, then decrypts a Sealed value once and caches the plaintext."""

    field: EncryptedFieldMixin

    def __get__(self, instance: models.Model | None, cls: type | None = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Sealed):
            value = self.field.decrypt_for(instance, value)
            instance.__dict__[self.field.attname] = value
        return value

    # A data descriptor, so reads always come through __get__ (plain DeferredAttribute is bypassed
    # once the value sits in the instance __dict__).
    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


class EncryptedFieldMixin(models.BinaryField):
    """Stores ciphertext in a bytea column; Python code only ever sees plaintext."""

    descriptor_class = _EncryptedDescriptor
    # Values are plaintext (str, list, dict), not bytes: "" or [] is blank, as for TextField/JSONField
    # (BinaryField counts only None and b"", so a required text field would accept "").
    empty_values = list(validators.EMPTY_VALUES)

    def __init__(self, *args: Any, clinic_key: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("editable", True)
        self.clinic_key = clinic_key
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.clinic_key:
            kwargs["clinic_key"] = True
        return name, path, args, kwargs

    # Subclasses convert between the Python value and plaintext bytes.
    def to_plaintext(self, value: Any) -> bytes:
        raise NotImplementedError

    def from_plaintext(self, data: bytes) -> Any:
        raise NotImplementedError

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        return [*super().check(**kwargs), *self._check_python_primary_key()]

    def _check_python_primary_key(self) -> list[checks.CheckMessage]:
        model = getattr(self, "model", None)
        if model is None or model._meta.abstract:
            return []
        pk = model._meta.pk
        while pk is not None and pk.remote_field is not None and pk.remote_field.parent_link:
            pk = pk.remote_field.model._meta.pk  # multi-table inheritance: the root model makes the key
        if pk is None or not pk.has_default():
            return [
                checks.Error(
                    f"{model._meta.label} has an encrypted field but its primary key is assigned by the database.",
                    hint="Inherit from docos.models.UUIDModel so the key exists before the first save.",
                    obj=self,
                    id="docos.E010",
                )
            ]
        return []

    def _check_str_default_value(self) -> list[checks.CheckMessage]:
        return []  # defaults are plaintext values (str, dict, ...), not bytes

    def get_default(self) -> Any:
        if self.has_default():
            return models.Field.get_default(self)  # not BinaryField's, which turns "" into b""
        return None if self.null else self.empty_plaintext()

    def empty_plaintext(self) -> Any:
        return None

    def to_python(self, value: Any) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            raise ValidationError("Enter a value, not raw bytes.", code="invalid")
        return value

    def aad_for(self, instance: models.Model, schema: str) -> bytes:
        pk = instance.pk
        if pk is None:
            raise ValueError(f"{type(instance).__name__} needs a primary key before encrypting {self.name}.")
        # The table that holds the column (self.model), which is also what encryption_rotate binds.
        # Same bytes as crypto.field_aad(schema, table, column, pk), with the constant part cached
        # and the key's text remembered on the instance (formatting a UUID is the slow part).
        memo = instance.__dict__.get(_PK_TEXT)
        if memo is None or memo[0] is not pk:
            # to_python: a key given as a string ("ABC..." or without hyphens) binds like the UUID read back.
            pk_field = self.model._meta.pk
            text = str(pk if type(pk) is uuid.UUID or pk_field is None else pk_field.to_python(pk))
            memo = instance.__dict__[_PK_TEXT] = (pk, text.encode())
        return _aad_prefix(schema, self.model._meta.db_table, self.column) + memo[1]

    def decrypt_for(self, instance: models.Model, sealed: Sealed) -> Any:
        try:
            plaintext = crypto.decrypt_field(sealed, self.aad_for(instance, sealed.schema), sealed.schema)
        except crypto.CryptoError as exc:
            # Name the row (never the value) so the failure can be traced.
            raise type(exc)(
                f"{instance._meta.label}.{self.name} of row {instance.pk} in schema {sealed.schema!r}: {exc}"
            ) from exc
        return self.from_plaintext(plaintext)

    def from_db_value(self, value: Any, expression: Any, conn: Any) -> Any:
        if value is None:
            return None
        return seal(value, conn.schema_name)

    def encrypt_for(self, instance: models.Model, value: Any, schema: str, tenant: Any = None) -> bytes:
        return self.encrypt_plaintext(self.to_plaintext(value), self.aad_for(instance, schema), schema, tenant)

    def encrypt_plaintext(self, plaintext: bytes, aad: bytes, schema: str, tenant: Any = None) -> bytes:
        """Encrypt under this field's key: the key ring, or the data key of the clinic owning `schema`
        (`tenant`: the writing connection's tenant, checked against the cached key)."""
        if self.clinic_key:
            return crypto.encrypt_field(plaintext, aad, clinic_schema=schema, tenant=tenant)
        return crypto.key_ring().encrypt(plaintext, aad)

    def is_current(self, blob: bytes, ring: crypto.KeyRing) -> bool:
        """Whether a stored ciphertext already uses this field's key (else encryption_rotate rewrites it)."""
        return crypto.is_clinic_keyed(blob) if self.clinic_key else not ring.needs_rotation(blob)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = model_instance.__dict__.get(self.attname, Sealed)
        if value is Sealed or isinstance(value, Sealed):  # deferred or not yet decrypted
            value = getattr(model_instance, self.attname)
        if value is None:
            return None
        # Encrypted in get_db_prep_value, where the connection (and so the schema) writing the row is known.
        return _PendingEncryption(model_instance, value)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if isinstance(value, _PendingEncryption):
            blob = self.encrypt_for(
                value.instance, value.value, connection.schema_name, getattr(connection, "tenant", None)
            )
            return super().get_db_prep_value(blob, connection, prepared)
        if value is None:
            return None
        # Anything else is a lookup, QuerySet.update()/bulk_update() or raw bytes: none can bind to a row.
        raise TypeError(
            f"Encrypted field {self.name!r} cannot be used in lookups or QuerySet.update(); "
            "filter on another column and write it through save()."
        )

    def value_to_string(self, obj: models.Model) -> str:
        raise TypeError(f"Encrypted field {self.name!r} is not serialisable (its ciphertext is bound to its row).")


class EncryptedTextField(EncryptedFieldMixin):
    # For the django-stubs plugin: instances hold text, like a TextField, not BinaryField's bytes.
    _pyi_private_set_type: str | None
    _pyi_private_get_type: str  # type: ignore[assignment]

    def empty_plaintext(self) -> str:
        return ""

    def to_plaintext(self, value: Any) -> bytes:
        if isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f"{self.name} holds text; got {type(value).__name__}.")
        return str(value).encode()

    def from_plaintext(self, data: bytes) -> str:
        return data.decode()

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return value if value is None else str(value)

    def formfield(self, **kwargs: Any) -> Any:
        defaults: dict[str, Any] = {"form_class": forms.CharField, "max_length": self.max_length}
        return models.Field.formfield(self, **{**defaults, **kwargs})


class EncryptedJSONField(EncryptedFieldMixin):
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def __init__(self, *args: Any, encoder: type[json.JSONEncoder] | None = None, **kwargs: Any) -> None:
        self.encoder = encoder
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.encoder is not None:
            kwargs["encoder"] = self.encoder
        return name, path, args, kwargs

    def to_plaintext(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), sort_keys=True, cls=self.encoder).encode()

    def from_plaintext(self, data: bytes) -> Any:
        return json.loads(data)

    def formfield(self, **kwargs: Any) -> Any:
        return models.Field.formfield(self, **{"form_class": forms.JSONField, "encoder": self.encoder, **kwargs})
