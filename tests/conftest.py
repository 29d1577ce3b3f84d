"""Shared fixtures: the verified default models (built once, then served from the cache)."""

from __future__ import annotations

import pytest

from quire.registry import load_registry
from quire_build.models import REGISTRY, build_models


@pytest.fixture(scope="session")
def registry():
    return load_registry(REGISTRY)


@pytest.fixture(scope="session")
def built_models() -> dict:
    return build_models()
