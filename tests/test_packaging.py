"""The wheel holds every file of the package: what the tests import is what users install.

The tests import the checkout; this builds the wheel the way a release does
and compares its files with the package's files under version control, so a
template, a translation or a module left out of the wheel fails here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def tracked_package_files() -> set[str]:
    git = shutil.which("git")
    assert git is not None
    listed = subprocess.run(
        [git, "ls-files", "django_everreal"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {name for name in listed if (ROOT / name).is_file()}


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_wheel_holds_every_file_of_the_package(tmp_path):
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    source = tmp_path / "source"
    # A copy, so the build leaves nothing in the checkout.
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "*.egg-info", "build", "__pycache__"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = (tmp_path / "dist").glob("django_everreal-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packaged = {
            name for name in archive.namelist() if name.startswith("django_everreal/")
        }
        metadata = archive.read(
            next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        ).decode()

    assert tracked_package_files() - packaged == set()
    assert "License-Expression: MIT" in metadata
    # Development tools are dependency groups, never extras users could install.
    assert 'extra == "test"' not in metadata and "playwright" not in metadata
