"""Discover feature packages: each may have ``models``, ``routes`` and ``cli`` modules.

Features plug in by convention, so adding one never edits app.py or cli.py:
``chudong/<feature>/models.py`` (tables), ``routes.py`` (a ``router``),
``cli.py`` (a ``register(app: typer.Typer)`` function).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import chudong

_SKIP = {"migrations", "adapters", "kit", "web", "i18n", "demo"}


def feature_names() -> list[str]:
    """Return the names of the feature packages, sorted."""
    return sorted(
        m.name for m in pkgutil.iter_modules(chudong.__path__) if m.ispkg and m.name not in _SKIP
    )


def feature_modules(kind: str) -> list[ModuleType]:
    """Import and return ``chudong.<feature>.<kind>`` for every feature that has one."""
    found = []
    for name in feature_names():
        spec = importlib.util.find_spec(f"chudong.{name}.{kind}")
        if spec is not None:
            found.append(importlib.import_module(f"chudong.{name}.{kind}"))
    return found


def load_models() -> None:
    """Import every feature's models so ``Base.metadata`` knows all tables."""
    feature_modules("models")
