# The release, as CHANGELOG.md names it: shown by /api/health and the admin, sent to Sentry.
__version__ = "1.1.0"

from yourlocalshop.celery import app as celery_app

__all__ = ["__version__", "celery_app"]
