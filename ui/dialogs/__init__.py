"""Dialogs; all open non-blocking (``open()``), so nothing waits in a nested event loop."""
