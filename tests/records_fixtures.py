"""Demo customer systems for the lookup tests: built once per module (3,000 customers),
copied per test that changes them, with a sources file written for the copy."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from caseapp.demo import demo_sources_text
from caseapp.records.demo_systems import DEMO_DB_NAME, DemoSystems, build_demo_systems
from caseapp.records.lookup import RecordSystems
from caseapp.records.sources import SourcesConfig, parse_sources

CUSTOMERS = 3000
NOW = datetime(2026, 3, 4, 15, 0, 0)


@dataclass
class DemoCopy:
    built: DemoSystems
    data_dir: Path
    config: SourcesConfig

    @property
    def path(self) -> Path:
        return self.data_dir / DEMO_DB_NAME

    def systems(self, extra: str = "", **options: object) -> RecordSystems:
        config = self.config if not extra else parse_sources(
            demo_sources_text(self.data_dir) + extra, self.data_dir / "sources.toml")
        return RecordSystems(config, self.data_dir, secret=lambda _name: None,
                             **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def demo_built(tmp_path_factory: pytest.TempPathFactory) -> DemoSystems:
    folder = tmp_path_factory.mktemp("lookup-demo")
    return build_demo_systems(folder / DEMO_DB_NAME, customers=CUSTOMERS)


@pytest.fixture
def demo(demo_built: DemoSystems, tmp_path: Path) -> DemoCopy:
    """A private copy of the demo systems (tests may change it) and its sources file."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(demo_built.path, data_dir / DEMO_DB_NAME)
    file = data_dir / "sources.toml"
    file.write_text(demo_sources_text(data_dir), encoding="utf-8")
    return DemoCopy(demo_built, data_dir, parse_sources(file.read_text(encoding="utf-8"),
                                                        file))
