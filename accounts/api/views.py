"""Account API. Browser clients use the session cookie: `GET /api/auth/csrf` sets the `csrftoken`
cookie and returns its value, which every unsafe request (login and register included) sends back
in `X-CSRFToken`. Non-browser clients use `POST /api/auth/token` and `Authorization: Token <key>`.
"""

from django.contrib.auth import login, logout
from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import (
    CredentialsInputSerializer,
    CsrfOutputSerializer,
    RegisterInputSerializer,
    TokenOutputSerializer,
    UserOutputSerializer,
)
from accounts.services import (
    user_authenticate,
    user_register,
    user_token_delete,
    user_token_get_or_create,
)
from accounts.throttles import LoginRateThrottle
from carts.api.cookies import cart_cookie_delete
from carts.api.serializers import CartMergeSummarySerializer
from carts.selectors import cart_id_from_cookie
from carts.services import cart_merge_on_login
from yourlocalshop.api.schema import NOT_SIGNED_IN, problem_details

TAGS = ["auth"]
SessionOutputSerializer = inline_serializer(
    name="SessionOutput",
    fields={
        "user": UserOutputSerializer(),
        "cartMerge": CartMergeSummarySerializer(
            allow_null=True,
            help_text="What happened to the guest cart of the `cart_id` cookie (null: none).",
        ),
    },
)
CSRF_FAILED = problem_details(
    "CSRF check failed (`csrf_failed`): send X-CSRFToken from GET /api/auth/csrf.",
)
THROTTLED = problem_details(
    "Too many attempts (`rate_limited`); retry after the Retry-After header.",
)
INVALID_CREDENTIALS = problem_details(
    "Invalid input (`validation_error`) or wrong email/password "
    "(`invalid_credentials`, the same answer whether or not the email has an account).",
)


def _session_start(request, user) -> Response:
    """Log the user in on the session and bring their guest cart along."""
    login(request, user)
    merge = cart_merge_on_login(user=user, guest_cart_id=cart_id_from_cookie(request))
    body = {
        "user": UserOutputSerializer(user).data,
        "cartMerge": (CartMergeSummarySerializer(merge).data if merge is not None else None),
    }
    response = Response(body)
    cart_cookie_delete(response)
    return response


@method_decorator(ensure_csrf_cookie, name="dispatch")
class CsrfView(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="auth_csrf",
        summary="Get a CSRF token (and the csrftoken cookie) for session requests",
        responses={200: CsrfOutputSerializer},
    )
    def get(self, request):
        return Response({"csrfToken": get_token(request)})


@method_decorator(csrf_protect, name="dispatch")
class RegisterView(APIView):
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        tags=TAGS,
        operation_id="auth_register",
        summary="Create a customer account and sign in",
        description="The email is unique regardless of case. Django's password validators "
        "apply; their messages come back under `errors.password`. Signs the new customer in "
        "(session) and merges the guest cart.",
        request=RegisterInputSerializer,
        responses={
            201: SessionOutputSerializer,
            400: problem_details("Field errors."),
            403: CSRF_FAILED,
            429: THROTTLED,
        },
    )
    def post(self, request):
        serializer = RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_register(**serializer.validated_data)
        response = _session_start(request, user)
        response.status_code = status.HTTP_201_CREATED
        return response


@method_decorator(csrf_protect, name="dispatch")
class LoginView(APIView):
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        tags=TAGS,
        operation_id="auth_login",
        summary="Sign in with email and password (session cookie)",
        description="Needs the X-CSRFToken header (GET /api/auth/csrf). Merges the guest cart "
        "of the `cart_id` cookie into the customer's cart and clears that cookie.",
        request=CredentialsInputSerializer,
        responses={
            200: SessionOutputSerializer,
            400: INVALID_CREDENTIALS,
            403: CSRF_FAILED,
            429: THROTTLED,
        },
    )
    def post(self, request):
        serializer = CredentialsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_authenticate(request=request, **serializer.validated_data)
        return _session_start(request, user)


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS,
        operation_id="auth_logout",
        summary="Sign out (ends the session; a token client's token is revoked)",
        request=None,
        responses={204: OpenApiResponse(description="Signed out."), 401: NOT_SIGNED_IN},
    )
    def post(self, request):
        if isinstance(request.auth, Token):
            user_token_delete(user=request.user)
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS,
        operation_id="auth_me",
        summary="The signed-in user",
        responses={200: UserOutputSerializer, 401: NOT_SIGNED_IN},
    )
    def get(self, request):
        return Response(UserOutputSerializer(request.user).data)


class TokenView(APIView):
    throttle_classes = [LoginRateThrottle]
    # Token clients are not browsers: no session, hence no CSRF token to send.
    authentication_classes: list = []

    @extend_schema(
        tags=TAGS,
        operation_id="auth_token",
        summary="Get an API token for non-browser clients",
        description="Send it as `Authorization: Token <token>`. The same token is returned "
        "until it is revoked by POST /api/auth/logout.",
        request=CredentialsInputSerializer,
        responses={200: TokenOutputSerializer, 400: INVALID_CREDENTIALS, 429: THROTTLED},
    )
    def post(self, request):
        serializer = CredentialsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_authenticate(request=request, **serializer.validated_data)
        return Response({"token": user_token_get_or_create(user=user).key})
