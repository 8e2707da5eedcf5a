from yourlocalshop.errors import DomainError


class InvalidCredentials(DomainError):
    """The same answer for an unknown email, a wrong password and an inactive account, so a
    caller cannot learn which addresses have an account."""

    code = "invalid_credentials"
    status = 400
    title = "Those credentials are not valid."
