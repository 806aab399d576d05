"""Fixtures for the tests of dfl.ir; the graphs themselves are built in irsamples.py."""
from __future__ import annotations

import os
from typing import Callable

import pytest

from dfl.ir.graph import Graph
from irsamples import build_sample, compiled_programs, edit_node


@pytest.fixture
def sample() -> Graph:
    return build_sample()


@pytest.fixture
def edit() -> Callable[..., Graph]:
    return edit_node


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # `program` parametrizes over the compiled programs (none when the front end is missing)
    if "program" in metafunc.fixturenames:
        progs = compiled_programs()
        metafunc.parametrize("program", [g for _, g in progs],
                             ids=[os.path.relpath(p, "/work") for p, _ in progs])
