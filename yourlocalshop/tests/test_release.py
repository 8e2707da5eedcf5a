"""One release number: the package's, pyproject's, CHANGELOG.md's newest entry, /api/health's."""

import re
import tomllib
from pathlib import Path

import pytest
from django.conf import settings

import yourlocalshop

ROOT = Path(__file__).resolve().parents[2]


def test_the_release_is_the_same_everywhere_it_is_written():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    newest = re.search(r"^## \[?(\d+\.\d+\.\d+)", (ROOT / "CHANGELOG.md").read_text(), re.M)

    assert yourlocalshop.__version__ == settings.VERSION
    assert pyproject["project"]["version"] == yourlocalshop.__version__
    assert newest is not None and newest.group(1) == yourlocalshop.__version__


@pytest.mark.django_db
def test_health_names_the_release(health_monitor):
    assert health_monitor.get("/api/health").json()["version"] == yourlocalshop.__version__
