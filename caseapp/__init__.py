"""caseapp: a desktop case manager for consumer privacy requests."""

__version__ = "0.1.0"
