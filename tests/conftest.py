"""Shared helpers: the installed console scripts, run as real processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def script(name: str) -> str:
    """Path of a console script installed in this virtual environment."""
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed in {BIN}; run `pip install -e .`")
    return str(path)


def run_cli(name: str, *args: str, timeout: float = 240, **kwargs) -> subprocess.CompletedProcess:
    """Run a console script to completion, capturing its output."""
    return subprocess.run([script(name), *args], capture_output=True, text=True,
                          timeout=timeout, **kwargs)
