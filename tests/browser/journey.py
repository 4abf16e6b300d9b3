"""A screenshot after each step of a browser test, written out when a step fails."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


class Journey:
    """The steps of one browser test, each with a screenshot of where it ended.

    ``with journey.step("open the profile"): ...``: when a step fails, the
    screenshots so far, one of the failure and the files in *attachments*
    (e.g. the server's log) go to ``test-artifacts/<name>/``.
    """

    def __init__(
        self,
        page: Page,
        name: str,
        *,
        attachments: tuple[Path, ...] = (),
        directory: Path = ARTIFACTS,
    ) -> None:
        self.page = page
        self.directory = directory / slug(name)
        self.attachments = attachments
        self.shots: list[tuple[str, bytes]] = []

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self._screenshot(f"{title} (failed)")
            self.save()
            raise
        self._screenshot(title)

    def _screenshot(self, title: str) -> None:
        try:
            self.shots.append((title, self.page.screenshot(full_page=True)))
        except Exception:  # a closed page must not hide the real failure
            self.shots.append((f"{title} (no screenshot)", b""))

    def save(self) -> Path:
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True)
        for number, (title, png) in enumerate(self.shots, 1):
            if png:
                (self.directory / f"{number:02d}-{slug(title)}.png").write_bytes(png)
        for attachment in self.attachments:
            if attachment.exists():
                shutil.copyfile(attachment, self.directory / attachment.name)
        return self.directory


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "step"
