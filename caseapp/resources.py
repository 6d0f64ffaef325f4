"""Where the rule files, templates and other shipped data live."""

from __future__ import annotations

import os
from pathlib import Path


def resources_dir() -> Path:
    """The ``resources/`` folder beside the packages (``CASEAPP_RESOURCES`` overrides)."""
    override = os.environ.get("CASEAPP_RESOURCES")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "resources"
