"""Structured logs: every record carries the request id, and `LOG_FORMAT=json` writes one JSON
object per line so a log shipper can index `request_id`, `order_id` and friends without parsing.

Extra fields passed with `logger.info("order paid", extra={"order_id": order.id})` become keys of
the JSON object.
"""

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

# Set by `yourlocalshop.middleware.RequestIdMiddleware` for the duration of one request; a
# ContextVar (not a thread-local) so it also follows the request under ASGI.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

NO_REQUEST_ID = "-"

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("name", logging.INFO, "path", 0, "message", None, None))
) | {"message", "asctime", "request_id", "taskName"}


def _record_request_id(record: logging.LogRecord) -> str:
    # Django logs 4xx/5xx responses ("Not Found: …") after the middleware chain has returned, so
    # the context variable is already reset; those records carry the request itself.
    request_id = request_id_var.get() or getattr(getattr(record, "request", None), "id", None)
    return request_id if isinstance(request_id, str) else NO_REQUEST_ID


class RequestIdFilter(logging.Filter):
    """Puts the current request id on the record (`-` outside a request), so formatters can use
    `%(request_id)s` without every caller passing it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _record_request_id(record)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp (UTC, ISO 8601), level, logger, message, request_id,
    the caller's extra fields, and the formatted traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or _record_request_id(record),
        }
        for key, value in vars(record).items():
            # `request` (Django's request loggers) is an object, not a field: method and path are
            # in the message and the access line.
            if key not in _STANDARD_ATTRIBUTES and key != "request" and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: UUIDs, Decimals and datetimes in `extra` must never break a log line.
        return json.dumps(entry, default=str, ensure_ascii=False)
