"""The dependency ladder, checked from the imports of the production code (tests are not read).

catalogue ← inventory ← carts ← orders ← fulfilment, returns ← backoffice; accounts rests on
carts beside orders (signing in merges the guest cart); all of them on the platform package
`yourlocalshop`, which imports no app. An app may import the app(s) it rests on and everything
those may import, nothing else. A lower app that must tell a higher one something owns a signal
or a hook the higher one connects to. Imports inside functions and under `TYPE_CHECKING` count:
hiding an import does not remove the dependency. Settings and the root URLconf name apps by
string; they are the composition root.
"""

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

PLATFORM = "yourlocalshop"
RESTS_ON = {
    "catalogue": PLATFORM,
    "inventory": "catalogue",
    "carts": "inventory",
    "accounts": "carts",
    "orders": "carts",
    "fulfilment": "orders",
    "returns": "orders",
    # The back office (admin site, owner's overview, reports) reads every app; nothing imports it.
    "backoffice": ("fulfilment", "returns", "accounts"),
    # The simulated payment provider and courier (development and tests); nothing imports it.
    "mockproviders": ("orders", "fulfilment"),
}
APPS = (PLATFORM, *RESTS_ON)

# Imports that ran against the ladder when this check was written: (module file, imported module).
# The list only shrinks: remove an entry together with the import (a stale entry fails the check).
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()


def may_import(app: str) -> set[str]:
    """The apps `app` may import: itself and every app below it on the ladder."""
    allowed, below = {app}, [app]
    while below:
        rests_on = RESTS_ON.get(below.pop(), ())
        for lower in (rests_on,) if isinstance(rests_on, str) else rests_on:
            if lower not in allowed:
                allowed.add(lower)
                below.append(lower)
    return allowed


def imported_modules(source: str) -> Iterator[str]:
    """Every absolute import of a module's source, wherever it is written."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def violations(path: str, source: str) -> set[tuple[str, str]]:
    """The imports of the module at `path` (relative to the project) that run up the ladder."""
    allowed = may_import(path.split("/")[0])
    return {
        (path, module)
        for module in imported_modules(source)
        if module.split(".")[0] in APPS and module.split(".")[0] not in allowed
    }


def production_modules() -> Iterator[tuple[str, str]]:
    root = Path(settings.BASE_DIR)
    for app in APPS:
        for file in sorted((root / app).rglob("*.py")):
            path = file.relative_to(root).as_posix()
            if "/tests/" not in path:
                yield path, file.read_text()


def violations_found() -> set[tuple[str, str]]:
    return {found for path, source in production_modules() for found in violations(path, source)}


def test_no_import_runs_up_the_ladder():
    new = violations_found() - KNOWN_VIOLATIONS
    assert not new, (
        f"imports against the dependency ladder (docs/architecture.md): {sorted(new)}; "
        "call a lower app's services/selectors, or have the lower app own a signal or hook"
    )


def test_known_violations_are_removed_from_the_list_with_their_import():
    stale = KNOWN_VIOLATIONS - violations_found()
    assert not stale, f"these imports are gone: remove them from KNOWN_VIOLATIONS: {sorted(stale)}"


def test_an_upward_import_is_a_violation_wherever_it_is_written():
    source = """
from typing import TYPE_CHECKING

import orders.services
from inventory.selectors import stock_hint

if TYPE_CHECKING:
    from fulfilment.models import Shipment


def product_badge():
    from returns import selectors
"""
    assert violations("catalogue/badges.py", source) == {
        ("catalogue/badges.py", "orders.services"),
        ("catalogue/badges.py", "inventory.selectors"),
        ("catalogue/badges.py", "fulfilment.models"),
        ("catalogue/badges.py", "returns"),
    }


def test_the_check_fails_when_a_module_imports_up_the_ladder(monkeypatch):
    modules = [*production_modules(), ("inventory/badges.py", "from carts.selectors import x\n")]
    monkeypatch.setattr(sys.modules[__name__], "production_modules", lambda: iter(modules))
    with pytest.raises(AssertionError, match=r"inventory/badges.py', 'carts.selectors"):
        test_no_import_runs_up_the_ladder()


def test_imports_down_the_ladder_and_within_an_app_are_allowed():
    source = """
from catalogue.selectors import product_get_active
from django.db import transaction
from inventory.services import stock_reserve
from yourlocalshop.errors import DomainError

from .models import Cart
from . import selectors
"""
    assert violations("carts/services.py", source) == set()


def test_siblings_do_not_import_each_other():
    assert violations("returns/services.py", "from fulfilment import selectors") == {
        ("returns/services.py", "fulfilment")
    }
    assert violations("orders/services.py", "from accounts.models import User") == {
        ("orders/services.py", "accounts.models")
    }


def test_the_back_office_may_read_every_app_and_no_app_imports_it():
    # Every app but the mock providers, which production does not install.
    assert may_import("backoffice") == set(APPS) - {"mockproviders"}
    assert violations("returns/admin.py", "from backoffice import site") == {
        ("returns/admin.py", "backoffice")
    }


def test_the_platform_imports_no_app():
    assert may_import(PLATFORM) == {PLATFORM}
    assert violations("yourlocalshop/outbox.py", "import catalogue") == {
        ("yourlocalshop/outbox.py", "catalogue")
    }


def test_every_project_app_has_its_place_on_the_ladder():
    root = Path(settings.BASE_DIR)
    project_apps = {app for app in settings.INSTALLED_APPS if (root / app).is_dir()}
    assert project_apps == set(APPS)
