"""Leaderboard fixtures (owned by the leaderboard work): ``keys_dir``, the answer keys of the test entries."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory) -> Path:
    """Answer keys for the entries made by test_leaderboard_helpers.make_entry (its FINGERPRINT)."""
    from test_leaderboard_helpers import write_test_keys

    return write_test_keys(tmp_path_factory.mktemp("keys"))
