from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def o200k():
    from tunewise.assets import get_tiktoken

    return get_tiktoken("o200k_base")


@pytest.fixture(scope="session")
def cl100k():
    from tunewise.assets import get_tiktoken

    return get_tiktoken("cl100k_base")
