from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("account/signup/", views.sign_up, name="signup"),
    path("account/login/", views.sign_in, name="login"),
    path("account/logout/", views.sign_out, name="logout"),
]
