"""Workflow states and transitions, legal clocks and the business-day calendar."""
