from __future__ import annotations

from pathlib import Path

import pytest

from winnow.engine import Engine

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared evaluation data not present at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def engine() -> Engine:
    e = Engine()
    e.warm_up()
    return e
