"""Fixtures for the training tests: tiny generated corpora, never the real data."""
from __future__ import annotations

from pathlib import Path

import pytest

from training_fixtures import make_ravdess


@pytest.fixture
def ravdess_dir(tmp_path: Path) -> Path:
    return make_ravdess(tmp_path / "RAVDESS")
