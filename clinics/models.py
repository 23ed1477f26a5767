import re
import uuid
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


class Plan(models.Model):
    """A DocOS SaaS plan (public schema): a price per doctor seat or per location, charged monthly or
    yearly through the platform's Razorpay account (`razorpay_plan_id`, made on first use)."""

    class Period(models.TextChoices):
        MONTHLY = "monthly", "Monthly"
        YEARLY = "yearly", "Yearly"

    class Basis(models.TextChoices):
        DOCTOR_SEAT = "doctor_seat", "Per doctor seat"
        LOCATION = "location", "Per location"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    period = models.CharField(max_length=8, choices=Period.choices)
    basis = models.CharField(max_length=12, choices=Basis.choices, default=Basis.DOCTOR_SEAT)
    unit_price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(1)], help_text="Rupees per seat per period"
    )
    trial_days = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(90)])
    razorpay_plan_id = models.CharField(max_length=40, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["period", "unit_price"]

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    """A clinic's DocOS subscription (public schema): a mirror of its Razorpay subscription plus the
    clinic's DocOS access. The mirror only moves forward: `version_*` hold the ordering key of the
    Razorpay entity it was last set from (see clinics.subscriptions)."""

    class Status(models.TextChoices):  # Razorpay's subscription states
        CREATED = "created", "Created (awaiting checkout)"
        AUTHENTICATED = "authenticated", "Authenticated"
        ACTIVE = "active", "Active"
        PENDING = "pending", "Pending (charge failing)"
        HALTED = "halted", "Halted"
        CANCELLED = "cancelled", "Cancelled"
        COMPLETED = "completed", "Completed"
        EXPIRED = "expired", "Expired"
        PAUSED = "paused", "Paused"

    class Access(models.TextChoices):
        ACTIVE = "active", "Active"
        GRACE = "grace", "Grace period"
        READ_ONLY = "read_only", "Read-only"
        SUSPENDED = "suspended", "Suspended"

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="subscription")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    seats = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(1000)])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATED)
    access = models.CharField(max_length=12, choices=Access.choices, default=Access.ACTIVE)
    razorpay_subscription_id = models.CharField(max_length=40, blank=True)
    razorpay_customer_id = models.CharField(max_length=40, blank=True)
    short_url = models.URLField(blank=True)
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    current_start = models.DateTimeField(null=True, blank=True)
    current_end = models.DateTimeField(null=True, blank=True)
    charge_at = models.DateTimeField(null=True, blank=True)
    paid_count = models.PositiveIntegerField(default=0)
    total_count = models.PositiveIntegerField(default=0)
    # The ordering key of the Razorpay state last applied: (paid_count, event time, status rank).
    version_at = models.DateTimeField(null=True, blank=True)
    last_paid_at = models.DateTimeField(null=True, blank=True)
    # Dunning: when the failing started and when the grace period ends (then read-only, then suspended).
    dunning_started_at = models.DateTimeField(null=True, blank=True)
    grace_until = models.DateTimeField(null=True, blank=True)
    suspend_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["razorpay_subscription_id"],
                condition=~models.Q(razorpay_subscription_id=""),
                name="subscription_razorpay_id_unique",
            )
        ]
        indexes = [models.Index(fields=["access", "grace_until"], name="subscription_dunning")]

    def __str__(self) -> str:
        return f"{self.clinic_id}:{self.status}"


class PlatformPayment(models.Model):
    """A payment attempt on a clinic's subscription (public schema), one row per Razorpay payment:
    failed ones drive dunning emails and the platform admin's failed-payments list; paid ones carry
    DocOS's invoice (Razorpay's invoice id)."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="payments")
    razorpay_payment_id = models.CharField(max_length=40, unique=True)
    razorpay_invoice_id = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=16)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    method = models.CharField(max_length=20, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    error_description = models.CharField(max_length=255, blank=True)
    paid_or_failed_at = models.DateTimeField()
    owner_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-paid_or_failed_at"]

    def __str__(self) -> str:
        return self.razorpay_payment_id


class PlatformInvoice(models.Model):
    """DocOS's B2B tax invoice to a clinic for one subscription charge (public schema): both GSTINs,
    SAC, the tax split (CGST+SGST when the clinic is in DocOS's state, else IGST), numbered
    consecutively per financial year ("DOS2627-000001", at most 16 characters). The charge is
    GST-inclusive; the clinic's details are copied at issue, as an issued invoice never changes."""

    # The invoice outlives the clinic (tax law keeps it after off-boarding; its details are copied
    # above), so deleting a clinic, its subscription and payments leaves it with no payment row.
    payment = models.OneToOneField(
        PlatformPayment, on_delete=models.SET_NULL, null=True, blank=True, related_name="invoice"
    )
    number = models.CharField(max_length=16, unique=True)
    financial_year = models.CharField(max_length=4)
    issued_at = models.DateTimeField()
    clinic_name = models.CharField(max_length=200)
    clinic_gstin = models.CharField(max_length=15, blank=True)
    clinic_address = models.TextField(blank=True)
    place_of_supply = models.CharField(max_length=64, blank=True)
    description = models.CharField(max_length=200)
    sac = models.CharField(max_length=8)
    taxable_value = models.DecimalField(max_digits=12, decimal_places=2)
    cgst = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    sgst = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    igst = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return self.number


class PlatformInvoiceCounter(models.Model):
    """The last number used per financial year, locked while a number is taken (no gaps, no duplicates)."""

    financial_year = models.CharField(max_length=4, primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.financial_year}:{self.last}"


class ClinicOffboarding(models.Model):
    """A clinic's request to leave DocOS (public schema): the export archive, the cooling-off period
    and the deletion. It is the lasting record once the clinic is gone, so the clinic's name, address
    and schema are copied here and the link to the Clinic row is cleared when that row is deleted.
    Holds no PHI: ids, dates, counts, hashes and storage keys only."""

    class Status(models.TextChoices):
        EXPORTING = "exporting", "Preparing the export"
        READY = "ready", "Export ready; deletion scheduled"
        CANCELLED = "cancelled", "Cancelled"
        DELETING = "deleting", "Deleting"
        DELETED = "deleted", "Deleted"
        FAILED = "failed", "Export failed"

    OPEN = (Status.EXPORTING, Status.READY, Status.DELETING, Status.FAILED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.SET_NULL, null=True, blank=True, related_name="offboardings")
    clinic_name = models.CharField(max_length=200)
    clinic_slug = models.CharField(max_length=40)
    clinic_schema = models.CharField(max_length=63)
    requested_by = models.EmailField()
    requested_at = models.DateTimeField()
    delete_after = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.EXPORTING)
    progress = models.PositiveSmallIntegerField(default=0)
    step = models.CharField(max_length=120, blank=True)
    error = models.CharField(max_length=255, blank=True)
    # Starts of the current export: a worker killed mid-export (out of memory) is redelivered by Celery
    # (acks_late), so without a count a clinic too big to export would stay "exporting" for ever.
    export_attempts = models.PositiveSmallIntegerField(default=0)
    # The export: a ZIP encrypted under the platform key ring (never the clinic's own data key, which
    # the deletion destroys), stored outside the clinic's storage prefix.
    archive_name = models.CharField(max_length=255, blank=True)
    archive_sha256 = models.CharField(max_length=64, blank=True)  # of the ZIP the owner downloads
    archive_size = models.BigIntegerField(default=0)
    archive_ready_at = models.DateTimeField(null=True, blank=True)
    archive_expires_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    deletion_started_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted = models.JSONField(default=dict, blank=True)  # what was deleted: counts by kind
    certificate_name = models.CharField(max_length=255, blank=True)
    certificate_sha256 = models.CharField(max_length=64, blank=True)
    certificate_emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic"],
                condition=models.Q(status__in=["exporting", "ready", "deleting", "failed"]),
                name="offboarding_one_open_per_clinic",
            )
        ]
        indexes = [models.Index(fields=["status", "delete_after"], name="offboarding_due")]

    def __str__(self) -> str:
        return f"{self.clinic_slug}:{self.status}"

    @property
    def archive_available(self) -> bool:
        from django.utils import timezone

        return bool(
            self.archive_name
            and self.status in (self.Status.READY, self.Status.DELETING)
            and self.archive_expires_at
            and self.archive_expires_at > timezone.now()
        )
