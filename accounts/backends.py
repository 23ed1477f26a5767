from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User


class EmailBackend(ModelBackend):
    """Case-insensitive email + password. Locked or inactive users cannot authenticate.

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
        if user.check_password(password) and self.user_can_authenticate(user) and not self.is_locked(user):
            return user
        return None

    @staticmethod
    def is_locked(user: User) -> bool:
        return user.locked_until is not None and user.locked_until > timezone.now()

    def get_user(self, user_id: Any) -> User | None:
        try:
            user = User.objects.select_related("role").get(pk=user_id)
        except (User.DoesNotExist, ValueError, ValidationError):
            return None
        return user if self.user_can_authenticate(user) else None
