"""Shared fixtures: the verified default models (built once, then served from the cache)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from quire.registry import load_registry
from quire_build.models import REGISTRY, build_models

# Property tests (tests/*_properties.py) run the same examples on every run, so a failure in CI is
# one anyone can reproduce, and write no example database into the checkout. `deep` searches
# longer with fresh examples: HYPOTHESIS_PROFILE=deep python3 build.py test -k properties
settings.register_profile("ci", derandomize=True, database=None, max_examples=100, deadline=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", parent=settings.get_profile("ci"), derandomize=False, max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def registry():
    return load_registry(REGISTRY)


@pytest.fixture(scope="session")
def built_models() -> dict:
    """Every model the site offers, by id (`build.py test` has built them before the tests start)."""
    return build_models(offered=True)
