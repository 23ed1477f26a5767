from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User


class EmailBackend(ModelBackend):
    """Case-insensitive email + password. Locked (from an untrusted client) or inactive users cannot
    authenticate.

    A lockout only blocks new sign-ins: sessions that already exist stay valid (otherwise anyone
    could sign a colleague out by failing on purpose). Deactivation ends sessions at once, because
    `get_user` returns None for inactive users on their next request.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        email = kwargs.get("email") or username
        if not email or not password:
            return None
        try:
            user = User.objects.select_related("role").get(email__iexact=email.strip())
        except User.DoesNotExist:
            User().set_password(password)  # same work as a real check, so timing does not reveal accounts
            return None
        if user.check_password(password) and self.user_can_authenticate(user) and not self._locked_out(request, user):
            return user
        return None

    def _locked_out(self, request: HttpRequest | None, user: User) -> bool:
        """The account's lock holds untrusted clients; a trusted device of the user has its own
        lock, checked (like every limit) by accounts.login before the password is."""
        from accounts.login import trusted_device  # accounts.login uses this backend

        return self.is_locked(user) and trusted_device(request, user) is None

    @staticmethod
    def is_locked(user: User) -> bool:
        return user.locked_until is not None and user.locked_until > timezone.now()

    def get_user(self, user_id: Any) -> User | None:
        try:
            user = User.objects.select_related("role").get(pk=user_id)
        except (User.DoesNotExist, ValueError, ValidationError):
            return None
        return user if self.user_can_authenticate(user) else None
