"""Loaded once by the forkserver that starts the mail workers (caseapp.intake.worker), so
every worker it forks has the classifier's rules compiled already."""

from __future__ import annotations

import contextlib

from caseapp.errors import ConfigError
from caseapp.intake.classify import default_rules

with contextlib.suppress(ConfigError):  # each worker says so when asked to classify
    default_rules()
