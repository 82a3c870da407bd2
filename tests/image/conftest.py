"""Fixtures of the image tests: members of two projects."""

from __future__ import annotations

import pytest

from tests.image.helpers import project_member


@pytest.fixture
def alice(api):
    """A member of project alpha."""
    return project_member(api, "alpha")


@pytest.fixture
def bob(api):
    """A member of project beta."""
    return project_member(api, "beta")
