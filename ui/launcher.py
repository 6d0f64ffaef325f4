"""Entry point of the ``caseapp`` command: the command line, with the window plugged in.

caseapp.cli knows nothing of Qt; this module hands it the function that opens the
window, and Qt is imported only when the window is really opened.

Importing this module imports almost nothing: every mail-parsing process runs the
program's main script again as it starts (multiprocessing does), and this module is what
that script imports. The command line and the services are imported when ``main`` runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from caseapp.config import Settings
    from caseapp.errors import DatabaseDamaged
    from caseapp.services import Desk


def open_window(desk: Desk, *, settings: Settings | None = None,
                config_file: Path | None = None, damaged: DatabaseDamaged | None = None
                ) -> int:
    from ui.app import run_gui
    from ui.settings_store import SettingsStore

    store = SettingsStore(settings, config_file) if settings is not None else None
    try:
        return run_gui(desk, store, damaged=damaged)
    finally:
        # Its connections (the write-ahead log folded in), change watcher and
        # mail-parsing processes: at exit, and before a restart.
        desk.close()


def main(argv: Sequence[str] | None = None) -> int:
    from caseapp.cli import main as cli_main
    from ui import restart

    code = cli_main(argv, open_window=open_window)
    restart.run_again_if_requested()  # Settings → Database… → Restart now
    return code


if __name__ == "__main__":
    raise SystemExit(main())
