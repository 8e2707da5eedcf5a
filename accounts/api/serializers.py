from rest_framework import serializers

from accounts.models import User


class RegisterInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    fullName = serializers.CharField(
        source="full_name", max_length=150, required=False, allow_blank=True, default=""
    )


class CredentialsInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)


class UserOutputSerializer(serializers.ModelSerializer):
    fullName = serializers.CharField(source="full_name")
    isStaff = serializers.BooleanField(source="is_staff")

    class Meta:
        model = User
        fields = ["id", "email", "fullName", "isStaff"]


class LoginOutputSerializer(serializers.Serializer):
    user = UserOutputSerializer()


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")


class CsrfOutputSerializer(serializers.Serializer):
    csrfToken = serializers.CharField(
        help_text="Send back in the `X-CSRFToken` header on unsafe requests (the `csrftoken` "
        "cookie holds the same value)."
    )
