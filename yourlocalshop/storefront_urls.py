"""Server-rendered customer pages, one include per app (each app's `urls.py`)."""

urlpatterns: list = []
