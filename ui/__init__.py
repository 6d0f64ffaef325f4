"""The caseapp window (PySide6). It calls caseapp.services.Desk only, off the GUI thread."""
