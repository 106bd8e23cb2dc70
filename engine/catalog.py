"""Placeholder until the engine branch lands: palettes only."""
from __future__ import annotations

from pathlib import Path

import yaml

DEFAULT_PATH = Path(__file__).with_name("data") / "catalog.yaml"


class Catalog:
    def __init__(self, palettes: dict[str, list[str]]):
        self.palettes = palettes

    def palette_keys(self) -> set[str]:
        return set(self.palettes)


def load_catalog(path: Path | None = None) -> Catalog:
    data = yaml.safe_load(Path(path or DEFAULT_PATH).read_text())
    return Catalog(data["palettes"])
