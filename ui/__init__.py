"""The caseapp window (PySide6). It calls caseapp.services.Desk only, off the GUI thread."""

from ui.none_guard import protect_none

protect_none()  # before any Qt call: PySide6 6.12 on Python 3.11 leaks None's references
