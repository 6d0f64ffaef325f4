"""A private CUPS print server for the test run, with a real PDF queue, and its fixture.

``start()`` runs ``cupsd -f`` with configuration, spool, cache, state and logs of its own
in a temporary folder, listening on a free port of 127.0.0.1 only (no socket, no
printcap, no browsing), so clients reach it with ``-h 127.0.0.1:PORT`` (or
``CUPS_SERVER``). The system's own cupsd and /etc/cups/printers.conf are never used.

Its one printer, ``Letters_PDF`` (the default), is a real PDF queue: the PPD of
printer-driver-cups-pdf, the usual CUPS filters, and the ``cups-pdf`` backend, which
writes each job as a PDF named after the job title into ``output_dir``. cups-pdf reads its
settings only from /etc/cups: ``cups-pdf.conf``, or ``cups-pdf-NAME.conf`` for the device
URI ``cups-pdf:/NAME``. Each server gets an instance file of its own there (removed at
stop), so the shared cups-pdf.conf is left alone and servers of parallel test processes
do not mix their output.

cupsd runs filters as the ``lp`` account and the backend (mode 0700) as root, so the
server is started as root (CI and the dev machines run the tests as root); the folders
are readable by ``lp``. Nothing is mocked: when CUPS is missing or will not start, the
printing tests fail with the reason and the server's log.

Fixture: ``cups`` (session): the running server, one per test process.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.ports import free_port

PRINTER = "Letters_PDF"
CUPS_PDF_PPD = Path("/usr/share/ppd/cups-pdf/CUPS-PDF_noopt.ppd")
CUPS_PDF_BACKEND = Path("/usr/lib/cups/backend/cups-pdf")
CUPS_PDF_CONFIG_DIR = Path("/etc/cups")
START_TIMEOUT_S = 20
INSTALL_HINT = ("Run the README's test command, which installs them, or: apt-get install "
                "cups cups-client printer-driver-cups-pdf")

_CUPSD_CONF = """\
# caseapp tests: a private cupsd on 127.0.0.1; nothing here touches the system's CUPS.
Listen 127.0.0.1:{port}
LogLevel info
Browsing No
WebInterface No
DefaultAuthType None
PreserveJobHistory Yes
MaxJobs 1000
<Location />
  Order allow,deny
  Allow 127.0.0.1
</Location>
<Policy default>
  JobPrivateAccess all
  JobPrivateValues none
  SubscriptionPrivateAccess all
  SubscriptionPrivateValues none
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
"""

_FILES_CONF = """\
ServerRoot {base}/conf
RequestRoot {base}/spool
TempDir {base}/spool/tmp
CacheDir {base}/cache
StateDir {base}/state
DataDir /usr/share/cups
ServerBin /usr/lib/cups
Printcap {base}/state/printcap
AccessLog {base}/log/access_log
ErrorLog {base}/log/error_log
PageLog {base}/log/page_log
FileDevice No
"""

_PRINTERS_CONF = """\
<DefaultPrinter {printer}>
Info caseapp test PDF queue
DeviceURI cups-pdf:/{instance}
State Idle
Accepting Yes
Shared No
</DefaultPrinter>
"""

# Out: the PDFs; TitlePref 1: named after the job title (serial and case ref), not the
# file name (stdin has none); Label 0: no job number added to the name.
_CUPS_PDF_CONF = """\
# caseapp tests: a private cups-pdf instance (tests/cups_server.py); removed at stop.
Out {base}/output
AnonDirName {base}/output
Spool {base}/cups-pdf-spool
Log {base}/log
LogType 3
TitlePref 1
Label 0
"""


def _cupsd_binary() -> str:
    found = shutil.which("cupsd") or ("/usr/sbin/cupsd" if os.path.exists("/usr/sbin/cupsd")
                                      else None)
    if found is None:
        raise RuntimeError(f"CUPS is not installed (no cupsd binary). {INSTALL_HINT}")
    for needed in (CUPS_PDF_PPD, CUPS_PDF_BACKEND):
        if not needed.exists():
            raise RuntimeError(f"printer-driver-cups-pdf is missing ({needed}). {INSTALL_HINT}")
    if shutil.which("lp") is None:
        raise RuntimeError(f"The CUPS client (lp) is missing. {INSTALL_HINT}")
    if os.geteuid() != 0:
        raise RuntimeError("The printing tests start cupsd with the cups-pdf backend, which "
                           "runs only under a root cupsd: run them as root (CI does).")
    return found


@dataclass
class CupsServer:
    base: Path
    port: int
    instance: str
    process: subprocess.Popen[bytes] | None = None
    host: str = "127.0.0.1"
    printer: str = PRINTER
    _stopped: bool = field(default=False, repr=False)

    @property
    def address(self) -> str:
        """For ``lp -h``, ``CUPS_SERVER`` and ``caseapp print --server``."""
        return f"{self.host}:{self.port}"

    @property
    def output_dir(self) -> Path:
        """Where the PDF queue writes each printed job (``TITLE.pdf``)."""
        return self.base / "output"

    @property
    def instance_config(self) -> Path:
        return CUPS_PDF_CONFIG_DIR / f"cups-pdf-{self.instance}.conf"

    def log_tail(self, lines: int = 40) -> str:
        out = []
        for log in sorted((self.base / "log").glob("*")):
            try:
                text = log.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            out.append(f"--- {log.name}\n" + "\n".join(text))
        stderr = self.base / "stderr"
        if stderr.exists():
            out.append("--- stderr\n" + stderr.read_text(errors="replace"))
        return "\n".join(out) or "(no log)"

    def wait_for_output(self, title_start: str, timeout: float = 60.0) -> Path:
        """The PDF the queue wrote for a job whose title starts with ``title_start``
        (cups-pdf turns spaces into underscores), once it is complete."""
        stem = title_start.replace(" ", "_")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for path in sorted(self.output_dir.glob(f"{stem}*.pdf")):
                data = path.read_bytes()
                if data.rstrip().endswith(b"%%EOF"):
                    return path
            time.sleep(0.1)
        raise AssertionError(f"No PDF for '{title_start}' in {self.output_dir} after "
                             f"{timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop this server (by its PID only) and remove its folder and instance file."""
        if self._stopped:
            return
        self._stopped = True
        if self.process is not None:
            _stop_process(self.process)
        self.instance_config.unlink(missing_ok=True)
        shutil.rmtree(self.base, ignore_errors=True)


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def start() -> CupsServer:
    """Start a private cupsd with the PDF queue on a free port of 127.0.0.1."""
    binary = _cupsd_binary()
    base = Path(tempfile.mkdtemp(prefix="caseapp-cups-"))
    instance = f"caseapp{os.getpid()}{secrets.token_hex(3)}"
    server: CupsServer | None = None
    try:
        base.chmod(0o755)  # filters run as lp and read the spool
        for folder in ("conf/ppd", "spool/tmp", "cache", "state", "log", "output",
                       "cups-pdf-spool"):
            (base / folder).mkdir(parents=True)
        (base / "spool/tmp").chmod(0o1777)
        shutil.copyfile(CUPS_PDF_PPD, base / "conf/ppd" / f"{PRINTER}.ppd")
        (base / "conf/cups-files.conf").write_text(_FILES_CONF.format(base=base))
        (base / "conf/printers.conf").write_text(
            _PRINTERS_CONF.format(printer=PRINTER, instance=instance))
        last_error = ""
        for _attempt in range(3):  # a free port can be taken between probe and bind
            port = free_port()
            server = CupsServer(base=base, port=port, instance=instance)
            server.instance_config.write_text(_CUPS_PDF_CONF.format(base=base))
            (base / "conf/cupsd.conf").write_text(_CUPSD_CONF.format(port=port))
            with (base / "stderr").open("wb") as stderr:
                server.process = subprocess.Popen(
                    [binary, "-f", "-c", str(base / "conf/cupsd.conf"),
                     "-s", str(base / "conf/cups-files.conf")],
                    stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, cwd=base)
            if _wait_until_ready(server):
                atexit.register(server.stop)  # if the fixture's teardown never runs
                return server
            last_error = server.log_tail()
            _stop_process(server.process)
        raise RuntimeError(f"cupsd did not start on 127.0.0.1:\n{last_error}")
    except BaseException:
        if server is not None and server.process is not None:
            _stop_process(server.process)
        (CUPS_PDF_CONFIG_DIR / f"cups-pdf-{instance}.conf").unlink(missing_ok=True)
        shutil.rmtree(base, ignore_errors=True)
        raise


def _wait_until_ready(server: CupsServer) -> bool:
    """Listening, and the queue known (``lpstat -p`` names it)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    assert server.process is not None
    env = {**os.environ, "LC_ALL": "C"}
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            socket.create_connection((server.host, server.port), timeout=0.5).close()
        except OSError:
            time.sleep(0.05)
            continue
        result = subprocess.run(["lpstat", "-h", server.address, "-p", server.printer],
                                capture_output=True, text=True, env=env, timeout=10,
                                check=False)
        if f"printer {server.printer}" in result.stdout:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="session")
def cups() -> Iterator[CupsServer]:
    """A private cupsd with a PDF queue for this test process."""
    server = start()
    yield server
    server.stop()
