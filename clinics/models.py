import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import schema_exists

from docos.gstin import validate_gstin
from docos.i18n import validate_language
from docos.tenancy import validate_timezone

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
RESERVED_SLUGS = {"www", "api", "admin", "app", "public", "static", "mail", "status", "docs", "verify"}


def schema_name_for_slug(slug: str) -> str:
    return "t_" + slug.replace("-", "_")


class Clinic(TenantMixin):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        CLOSING = "closing", "Closing"

    name = models.CharField(max_length=200)
    slug = models.CharField(
        max_length=40,
        unique=True,
        validators=[RegexValidator(SLUG_RE, "Use 3-40 lowercase letters, digits and hyphens, starting with a letter.")],
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    contact_email = models.EmailField()
    gstin = models.CharField("GSTIN", max_length=15, blank=True, validators=[validate_gstin])
    billing_address = models.TextField(blank=True)
    billing_state = models.CharField(max_length=64, blank=True)
    timezone = models.CharField(max_length=64, default="Asia/Kolkata", validators=[validate_timezone])
    logo = models.FileField(upload_to="clinic-logos/", blank=True)
    # Security policy, set by the clinic's admins in the settings console.
    idle_timeout_minutes = models.PositiveSmallIntegerField(
        default=15, validators=[MinValueValidator(5), MaxValueValidator(60)]
    )
    require_2fa_for_admins = models.BooleanField(default=False)
    # The interface language of staff who have not chosen one, and of the sign-in screens (docos.i18n).
    default_language = models.CharField(max_length=12, default="en-in", validators=[validate_language])
    # The clinic's data key (its files and clinic-keyed fields), wrapped by the key ring; NULL once crypto-shredded.
    wrapped_data_key = models.BinaryField(null=True, editable=False)
    data_key_destroyed_at = models.DateTimeField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    auto_create_schema = True
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean_fields(self, exclude: Any = None) -> None:
        # Normalise before the field validators run (max_length would count the spaces).
        if self.gstin:
            self.gstin = self.gstin.strip().upper()
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        if self.slug in RESERVED_SLUGS:
            raise ValidationError({"slug": "This address is reserved; choose another."})
        if self.gstin:
            self.gstin = self.gstin.strip().upper()

    def create_schema(self, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1) -> bool:
        """Clone the migrated template schema; never run migrations one by one for a new clinic.

        An existing schema of that name is never adopted, and never dropped by the clean-up that
        django-tenants runs when creation fails: it may hold another (deleted) clinic's data."""
        from clinics.services import clone_template_into

        if schema_exists(self.schema_name, case_sensitive=False):
            self._schema_was_there = True
            raise ValidationError(f"The schema {self.schema_name!r} already exists.", code="schema_exists")
        clone_template_into(self.schema_name)
        return True

    def _drop_schema(self, force_drop: bool = False) -> None:
        if getattr(self, "_schema_was_there", False):
            return
        super()._drop_schema(force_drop)

    @property
    def is_suspended(self) -> bool:
        return self.status != self.Status.ACTIVE


class Domain(DomainMixin):
    pass


class DocumentVerification(models.Model):
    """Public routing for /verify/<code>: which clinic issued a signed document, and its hash.

    Holds no PHI: document type, clinic, date and SHA-256 only.
    """

    code = models.CharField(max_length=16, unique=True)
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="verifications")
    kind = models.CharField(max_length=16)
    issued_at = models.DateTimeField()
    sha256 = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.code


class VendorRoute(models.Model):
    """Which clinic a vendor's account belongs to (public schema), so a webhook posted to the public
    domain finds its clinic with one indexed query, e.g. ("whatsapp", phone_number_id) -> clinic.
    Written only by `clinics.services.vendor_routes_set`, in the same transaction as the clinic's
    own setting (messaging's WhatsApp settings), so the two never disagree."""

    vendor = models.CharField(max_length=32)
    account_id = models.CharField(max_length=128)
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="vendor_routes")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vendor", "account_id"], name="vendor_route_unique")]
        indexes = [models.Index(fields=["clinic", "vendor"], name="vendor_route_clinic")]

    def __str__(self) -> str:
        return f"{self.vendor}:{self.account_id}"
