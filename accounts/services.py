"""Account writes: registration, credential checks and API tokens."""

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from rest_framework.authtoken.models import Token

from accounts.errors import InvalidCredentials
from accounts.models import User
from accounts.selectors import user_email_taken

EMAIL_TAKEN_MESSAGE = "An account with this email address already exists."


def user_register(*, email: str, password: str, full_name: str = "") -> User:
    """Create a customer account.

    Atomic. The email is stored lower-cased, so uniqueness is case-insensitive (the database's
    unique index is the final word when two sign-ups race). Raises `ValidationError` keyed by
    field (`email`, `password`) with every message Django's password validators produce.
    """
    email = User.objects.normalize_email(email.strip()).lower()
    user = User(email=email, full_name=full_name.strip())
    errors: dict[str, list[str]] = {}
    if user_email_taken(email=email):
        errors["email"] = [EMAIL_TAKEN_MESSAGE]
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        errors["password"] = list(error.messages)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.full_clean(exclude=["password"], validate_unique=False)
            user.save()
    except IntegrityError as error:
        raise ValidationError({"email": [EMAIL_TAKEN_MESSAGE]}) from error
    return user


def user_authenticate(*, request: HttpRequest | None, email: str, password: str) -> User:
    """Return the active user with these credentials or raise `InvalidCredentials`.

    Unknown emails go through Django's `ModelBackend`, which still runs the password hasher, so
    the answer and its timing do not reveal whether an account exists.
    """
    user = authenticate(request, email=email.strip(), password=password)
    if user is None:
        raise InvalidCredentials("Email or password is incorrect.")
    return user


def user_token_get_or_create(*, user: User) -> Token:
    """The user's API token; idempotent (the same key until it is deleted)."""
    token, _created = Token.objects.get_or_create(user=user)
    return token


def user_token_delete(*, user: User) -> None:
    """Revoke the user's API token; idempotent."""
    Token.objects.filter(user=user).delete()
