"""The one base class for domain errors.

Services raise a subclass with a stable machine `code` and an HTTP `status`; the API turns it into
RFC 9457 problem details and the server-rendered pages show its `detail`. Extra structured data
(e.g. per-SKU availability) goes in `extra` and is merged into the problem document.
"""

from typing import Any, ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"
    status: ClassVar[int] = 422
    title: ClassVar[str] = "The request cannot be completed."
    # Seconds after which a retry may succeed (the `Retry-After` header); None: do not say.
    retry_after: int | None = None

    def __init__(
        self, detail: str | None = None, *, retry_after: int | None = None, **extra: Any
    ) -> None:
        self.detail = detail or self.title
        self.extra = extra
        if retry_after is not None:
            self.retry_after = max(1, retry_after)
        super().__init__(self.detail)

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Not found."


class IllegalTransition(DomainError):
    """A state machine was asked for a move it does not allow."""

    code = "illegal_transition"
    status = 409
    title = "This change of status is not allowed."
