"""Child process of bench.window_100k: launch as the `caseapp` command does, print the
monotonic time at which the first page of cases is on screen, then quit."""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    from PySide6.QtCore import QTimer

    from caseapp.config import load_settings
    from caseapp.services import Desk
    from ui.app import application, build_main_window

    settings = load_settings()
    desk = Desk(sys.argv[1], "bench")
    desk.prepare(settings.paths.backup_dir)
    app = application()
    window = build_main_window(desk)
    window.show()

    def check() -> None:
        if window.model.rowCount() > 0:
            print(f"{time.monotonic():.6f}", flush=True)
            window.close()
            app.quit()

    timer = QTimer()
    timer.timeout.connect(check)
    timer.start(1)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
