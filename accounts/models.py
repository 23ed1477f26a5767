from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac

from docos.fields import EncryptedTextField
from docos.gstin import validate_gstin
from docos.i18n import validate_language
from docos.models import UUIDModel
from docos.tenancy import validate_timezone


class Location(UUIDModel):
    """A branch of the clinic. Staff may be restricted to some locations."""

    name = models.CharField(max_length=120)
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=20, blank=True)
    # A branch in another state has its own GST registration; empty means the clinic's GSTIN.
    gstin = models.CharField("GSTIN", max_length=15, blank=True, validators=[validate_gstin])
    # The establishment's registration under the state's clinical establishments act (e.g. KPME).
    registration_number = models.CharField(max_length=60, blank=True)
    timezone = models.CharField(max_length=64, default="Asia/Kolkata", validators=[validate_timezone])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="location_name_ci_unique")]

    def __str__(self) -> str:
        return self.name


class Role(UUIDModel):
    """A named bundle of capabilities. Built-in roles are seeded per clinic; admins add custom ones."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=200, blank=True)
    capabilities = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    is_builtin = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user


class User(UUIDModel, AbstractBaseUser):
    """Staff of one clinic (tenant schema) or DocOS platform staff (public schema)."""

    email = models.EmailField()
    full_name = models.CharField(max_length=150)
    phone = models.CharField(max_length=20, blank=True)
    is_active = models.BooleanField(default=True)
    role = models.ForeignKey(Role, null=True, blank=True, on_delete=models.PROTECT, related_name="users")
    # Empty means every location of the clinic.
    locations = models.ManyToManyField(Location, blank=True, related_name="staff")
    # Doctors' details that print on prescriptions and certificates.
    registration_number = models.CharField(max_length=40, blank=True)
    qualifications = models.CharField(max_length=200, blank=True)
    is_platform_staff = models.BooleanField(default=False)
    totp_secret = EncryptedTextField(null=True, blank=True)
    totp_confirmed_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    # Bumped to end every session of this user ("sign out everywhere", deactivation, password change).
    session_epoch = models.PositiveIntegerField(default=0)
    theme = models.CharField(
        max_length=8, default="auto", choices=[("auto", "Auto"), ("light", "Light"), ("dark", "Dark")]
    )
    # The interface language (a code of settings.LANGUAGES); empty: the clinic's default. No choices
    # here, so that adding a language is a catalogue in locale/ and not a migration (docos.i18n).
    language = models.CharField(max_length=12, blank=True, default="", validators=[validate_language])
    date_joined = models.DateTimeField(default=timezone.now)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["full_name"]

    objects = UserManager()

    class Meta:
        ordering = ["full_name"]
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_session_auth_hash(self) -> str:
        # Django checks this on every request; including the epoch lets us end all sessions at once.
        return salted_hmac(
            "accounts.User.session", f"{self.password}|{self.session_epoch}", algorithm="sha256"
        ).hexdigest()

    @property
    def capabilities(self) -> frozenset[str]:
        cached: frozenset[str] | None = getattr(self, "_capabilities_cache", None)
        if cached is None:
            role = self.role if self.is_active else None
            cached = frozenset(role.capabilities) if role is not None else frozenset()
            self._capabilities_cache = cached
        return cached

    def has_capability(self, code: str) -> bool:
        return code in self.capabilities

    @property
    def totp_enabled(self) -> bool:
        return self.totp_confirmed_at is not None

    @property
    def is_staff(self) -> bool:  # used by Django internals (e.g. admin); platform staff only
        return self.is_platform_staff


class ApiToken(UUIDModel):
    """A personal API token. Only its SHA-256 is stored; the secret is shown once at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class LoginCode(UUIDModel):
    """A 6-digit code emailed for sign-in or unlock. Stored hashed, single use, limited attempts."""

    class Purpose(models.TextChoices):
        LOGIN = "login", "Sign in"
        UNLOCK = "unlock", "Unlock"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_codes")
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.LOGIN)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} code for {self.user_id}"
