from django.urls import path

from accounts.api.views import CsrfView, LoginView, LogoutView, MeView, RegisterView, TokenView

urlpatterns = [
    path("auth/csrf", CsrfView.as_view(), name="auth-csrf"),
    path("auth/register", RegisterView.as_view(), name="auth-register"),
    path("auth/login", LoginView.as_view(), name="auth-login"),
    path("auth/logout", LogoutView.as_view(), name="auth-logout"),
    path("auth/me", MeView.as_view(), name="auth-me"),
    path("auth/token", TokenView.as_view(), name="auth-token"),
]
