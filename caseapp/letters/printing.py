"""Printing letters on a CUPS print server.

Jobs are sent, and printers listed, with the CUPS command-line client (``lp``,
``lpstat``, ``cancel``: Debian's cups-client), so printing works wherever staff can print
from a terminal, with the same server settings (``CUPS_SERVER``, client.conf) and no
compiled extension to build. Two things that client cannot tell are read with small IPP
requests to the same server: a job's exact state (Get-Job-Attributes: ``lpstat`` lists a
cancelled job like a completed one), and the jobs with a given title (Get-Jobs: no
``lpstat`` option shows titles, and ``lpq`` shows them for unfinished jobs only). The
title is what finds a job again after the program was killed between ``lp`` and the
desk recording the job id. CUPS shows a job's title to its owner (the
``requesting-user-name`` sent is this account's) and to everyone when the server's
policy does not keep titles private.

``server`` is a CUPS address, as for ``lp -h``: ``host``, ``host:port`` or the path of
the server's socket; ``None`` means what the client itself would use.

Errors are the project's (caseapp.errors): no client installed or no server answering
is an :class:`PrintingUnavailable` (an environment problem, retry later); an unknown
printer is :class:`PrinterNotFound`; a job the server will not take is
:class:`PrintRefused`.
"""

from __future__ import annotations

import getpass
import http.client
import os
import re
import shutil
import socket
import struct
import subprocess
import time
from dataclasses import dataclass
from typing import Final

from caseapp.errors import EnvironmentProblem, InvalidInput, NotFound, UserError

CLIENT_TIMEOUT_S: Final = 30.0
MAX_COPIES: Final = 99

JOB_STATES: Final = {3: "pending", 4: "held", 5: "processing", 6: "stopped",
                     7: "canceled", 8: "aborted", 9: "completed"}
"""IPP job-state values (RFC 8011 §5.3.7) by the names shown to staff."""
FINISHED_STATES: Final = frozenset({"canceled", "aborted", "completed"})
INCOMING: Final = "job-incoming"
"""The job-state-reason of a job whose document has not (all) arrived yet."""


class PrintingUnavailable(EnvironmentProblem):
    """No CUPS client on this machine, or the print server does not answer."""


class PrinterNotFound(NotFound):
    """The printer asked for is not on the print server (or no default is set)."""


class PrintRefused(UserError):
    """The print server would not take the job (printer not accepting jobs, ...)."""


@dataclass(frozen=True)
class Printer:
    name: str
    description: str
    is_default: bool
    accepting: bool
    """Takes new jobs (a printer may take jobs while paused, and print them later)."""
    state: str
    """idle, printing or disabled (paused: jobs wait)."""


@dataclass(frozen=True)
class PrintJob:
    printer: str
    job_id: str
    """As CUPS names it (``Office-42``): what ``lpstat`` lists and ``cancel`` takes."""
    number: int
    title: str
    copies: int


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    state: str
    """One of JOB_STATES' names, or "unknown" (the server no longer keeps the job)."""
    reasons: tuple[str, ...] = ()
    message: str = ""

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES or self.state == "unknown"

    @property
    def printed(self) -> bool:
        return self.state == "completed"


@dataclass(frozen=True)
class QueuedJob:
    """A job the server keeps (waiting, printing or finished), as Get-Jobs lists it."""

    job_id: str
    """``Office-42``, as ``lp`` reported it."""
    number: int
    printer: str
    title: str
    state: str
    """One of JOB_STATES' names, or "unknown"."""
    reasons: tuple[str, ...] = ()
    copies: int = 0
    """0 when the server did not say."""

    @property
    def incomplete(self) -> bool:
        """Created, but its sender stopped before the whole document arrived (``lp`` was
        killed): it prints nothing, and CUPS drops it after a while."""
        return INCOMING in self.reasons and self.state not in FINISHED_STATES

    @property
    def taken(self) -> bool:
        """The server has the whole job and did not drop it: it printed or will print."""
        return self.state not in ("canceled", "aborted") and not self.incomplete


def _binary(name: str) -> str:
    found = shutil.which(name) or next(
        (path for path in (f"/usr/bin/{name}", f"/usr/sbin/{name}") if os.path.exists(path)),
        None)
    if found is None:
        raise PrintingUnavailable(
            f"Printing needs the CUPS command-line client ('{name}' is missing). Install it "
            "(Debian/Ubuntu: apt-get install cups-client), or save the letter as a PDF.")
    return found


class Cups:
    """One CUPS server, as seen by its command-line client."""

    def __init__(self, server: str | None = None, *, timeout: float = CLIENT_TIMEOUT_S) -> None:
        self.server = server.strip() if server and server.strip() else None
        self.timeout = timeout

    def _where(self) -> str:
        return f"the print server {self.server}" if self.server else "the print server"

    def _run(self, name: str, *args: str, data: bytes | None = None,
             ) -> subprocess.CompletedProcess[bytes]:
        command = [_binary(name), *(("-h", self.server) if self.server else ()), *args]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}  # messages we can recognize
        try:
            return subprocess.run(command, input=data if data is not None else b"",
                                  capture_output=True, timeout=self.timeout, env=env,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise PrintingUnavailable(
                f"{self._where().capitalize()} did not answer within "
                f"{self.timeout:.0f} seconds.") from None
        except OSError as error:
            raise PrintingUnavailable(f"Could not run {name}: {error.strerror}.") from None

    def reachable(self) -> bool:
        """Whether the server answers (``lpstat -r``)."""
        result = self._run("lpstat", "-r")
        return b"scheduler is running" in result.stdout

    def _unreachable(self) -> PrintingUnavailable:
        return PrintingUnavailable(
            f"The print server {self.address()} is not running or cannot be reached: "
            "nothing was printed. Check the printer settings, or try again later.")

    def address(self) -> str:
        """Where the client sends requests (``lpstat -H``): host:port or socket path."""
        if self.server:
            return self.server
        result = self._run("lpstat", "-H")
        return result.stdout.decode(errors="replace").strip() or "localhost:631"

    def printers(self) -> tuple[Printer, ...]:
        """The server's printers (default first), with whether each takes jobs."""
        result = self._run("lpstat", "-r", "-d", "-l", "-p", "-a")
        text = result.stdout.decode(errors="replace")
        if "scheduler is running" not in text:
            raise self._unreachable()
        default = ""
        states: dict[str, str] = {}
        descriptions: dict[str, str] = {}
        accepting: dict[str, bool] = {}
        current = ""
        for line in text.splitlines():
            if found := re.match(r"system default destination: (\S+)", line):
                default = found.group(1)
            elif found := re.match(r"printer (\S+) (is idle|now printing|disabled)", line):
                current = found.group(1)
                states[current] = {"is idle": "idle", "now printing": "printing",
                                   "disabled": "disabled"}[found.group(2)]
            elif current and (found := re.match(r"\s+Description: (.*)", line)):
                descriptions[current] = found.group(1).strip()
            elif found := re.match(r"(\S+) (not )?accepting requests", line):
                accepting[found.group(1)] = not found.group(2)
        names = sorted(states, key=lambda name: (name != default, name.lower()))
        return tuple(Printer(name=name, description=descriptions.get(name, ""),
                             is_default=name == default, accepting=accepting.get(name, False),
                             state=states[name]) for name in names)

    def default_printer(self) -> str | None:
        """The server's (or the user's lpoptions) default printer, or None."""
        result = self._run("lpstat", "-r", "-d")
        text = result.stdout.decode(errors="replace")
        if "scheduler is running" not in text:
            raise self._unreachable()
        found = re.search(r"system default destination: (\S+)", text)
        return found.group(1) if found else None

    def submit(self, pdf: bytes, *, title: str, printer: str | None = None,
               copies: int = 1) -> PrintJob:
        """Send a PDF to ``printer`` (the default one when None); the job CUPS made."""
        check_job(pdf, printer=printer, copies=copies)
        clean_title = job_title(title)
        args = [*(("-d", printer) if printer else ()), "-t", clean_title, "-n", str(copies),
                "-o", "document-format=application/pdf", "-"]
        result = self._run("lp", *args, data=pdf)
        said = (result.stderr or result.stdout).decode(errors="replace").strip()
        found = re.search(r"request id is (\S+)-(\d+)", result.stdout.decode(errors="replace"))
        if result.returncode == 0 and found:
            return PrintJob(printer=found.group(1), job_id=f"{found.group(1)}-{found.group(2)}",
                            number=int(found.group(2)), title=clean_title, copies=copies)
        raise self._lp_error(said, printer)

    def _lp_error(self, said: str, printer: str | None) -> UserError:
        message = said.removeprefix("lp: ").removeprefix("Error - ").strip()
        lowered = message.lower()
        if any(text in lowered for text in ("does not exist", "no default destination",
                                            "unable to connect", "connection refused",
                                            "scheduler is not running")):
            if not self.reachable():
                return self._unreachable()
            if "no default destination" in lowered:
                return PrinterNotFound("No default printer is set: choose a printer.")
            return PrinterNotFound(f"There is no printer '{printer}' on {self._where()}.")
        if "not accepting" in lowered:
            return PrintRefused(f"The printer '{printer or 'default'}' is not accepting jobs "
                                f"now: nothing was printed. ({message})")
        return PrintRefused(f"The print server refused the job: {message or 'no reason given'}.")

    def jobs(self) -> tuple[QueuedJob, ...]:
        """Every job the server keeps, of every printer, finished ones too, oldest first
        (IPP Get-Jobs, which-jobs all)."""
        return tuple(sorted(_get_jobs(self.address(), self.timeout),
                            key=lambda job: job.number))

    def jobs_titled(self, title: str) -> tuple[QueuedJob, ...]:
        """The jobs whose title is ``title`` (as :meth:`submit` sends it), oldest first."""
        wanted = job_title(title)
        return tuple(job for job in self.jobs() if job.title == wanted)

    def job_status(self, job: PrintJob | str | int) -> JobStatus:
        """The job's state as the server keeps it (IPP Get-Job-Attributes)."""
        number = job.number if isinstance(job, PrintJob) else _job_number(job)
        job_id = job.job_id if isinstance(job, PrintJob) else str(job)
        attributes = _get_job_attributes(self.address(), number, self.timeout)
        if attributes is None:
            return JobStatus(job_id=job_id, state="unknown")
        state = attributes.get("job-state", ())
        code = state[0] if state and isinstance(state[0], int) else 0
        return JobStatus(job_id=job_id, state=JOB_STATES.get(code, "unknown"),
                         reasons=tuple(str(r) for r in attributes.get("job-state-reasons", ())),
                         message=" ".join(str(m) for m in attributes.get(
                             "job-printer-state-message", ())))

    def wait(self, job: PrintJob | str | int, timeout: float = 60.0,
             interval: float = 0.2) -> JobStatus:
        """Poll until the job is finished (printed, cancelled or aborted) or ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.job_status(job)
            if status.finished or time.monotonic() >= deadline:
                return status
            time.sleep(interval)

    def cancel(self, job: PrintJob | str) -> None:
        job_id = job.job_id if isinstance(job, PrintJob) else job
        result = self._run("cancel", job_id)
        if result.returncode != 0:
            said = result.stderr.decode(errors="replace").strip()
            if not self.reachable():
                raise self._unreachable()
            raise PrintRefused(f"Job {job_id} could not be cancelled: {said}")


def check_job(pdf: bytes, *, printer: str | None, copies: int) -> None:
    """What :meth:`Cups.submit` refuses before it asks the server."""
    if not 1 <= copies <= MAX_COPIES:
        raise InvalidInput(f"Copies: 1 to {MAX_COPIES}.")
    if not pdf.startswith(b"%PDF-"):
        raise InvalidInput("Only PDF documents are printed.")
    if printer is not None and not re.fullmatch(r"[^\s/#\\]{1,127}", printer):
        raise PrinterNotFound(f"'{printer}' is not a printer name.")


def job_title(title: str) -> str:
    """The title as the server keeps it (one line, at most 200 characters)."""
    return " ".join(title.split())[:200]


def _job_number(job: str | int) -> int:
    if isinstance(job, int):
        return job
    found = re.fullmatch(r"(?:.*-)?(\d+)", job.strip())
    if not found:
        raise InvalidInput(f"'{job}' is not a print job (they look like Office-42).")
    return int(found.group(1))


# --- a minimal IPP client: Get-Job-Attributes and Get-Jobs (RFC 8010 encoding) -------------

_OPERATION_GROUP, _JOB_GROUP, _END = 0x01, 0x02, 0x03
_CHARSET, _LANGUAGE, _URI, _NAME, _KEYWORD = 0x47, 0x48, 0x45, 0x42, 0x44
_INTEGER, _ENUM = 0x21, 0x23
_GET_JOB_ATTRIBUTES = 0x0009
_GET_JOBS = 0x000A
_NOT_FOUND = 0x0406


def _attribute(tag: int, name: str, *values: str) -> bytes:
    out = b""
    for index, value in enumerate(values):
        key = name.encode() if index == 0 else b""
        data = value.encode("utf-8")
        out += bytes([tag]) + struct.pack(">H", len(key)) + key + struct.pack(">H", len(data))
        out += data
    return out


class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over the CUPS server's local socket (``/run/cups/cups.sock``)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def _connection(address: str, timeout: float) -> http.client.HTTPConnection:
    address = address.split("/version=")[0]
    if address.startswith("/"):
        return _UnixHTTPConnection(address, timeout)
    host, _, port = address.rpartition(":") if not address.endswith("]") else (address, "", "")
    if not host or not port.isdigit():
        host, port = address, "631"
    return http.client.HTTPConnection(host.strip("[]"), int(port), timeout=timeout)


def _ipp(address: str, path: str, operation: int, attributes: bytes,
         timeout: float) -> tuple[int, bytes]:
    """Send one request (the operation group: charset, language, then ``attributes``);
    the IPP status and the attribute groups of the answer."""
    request = (struct.pack(">BBHI", 2, 0, operation, 1) + bytes([_OPERATION_GROUP])
               + _attribute(_CHARSET, "attributes-charset", "utf-8")
               + _attribute(_LANGUAGE, "attributes-natural-language", "en")
               + attributes + bytes([_END]))
    connection = _connection(address, timeout)
    try:
        connection.request("POST", path, body=request,
                           headers={"Content-Type": "application/ipp"})
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as error:
        raise PrintingUnavailable(
            f"The print server ({address}) is not running or cannot be reached: "
            f"{error}.") from None
    finally:
        connection.close()
    if response.status != 200 or len(body) < 8:
        raise PrintingUnavailable(f"The print server ({address}) answered HTTP "
                                  f"{response.status} to a job query.")
    return struct.unpack(">H", body[2:4])[0], body[8:]


def _get_job_attributes(address: str, number: int, timeout: float,
                        ) -> dict[str, list[int | str]] | None:
    """The job's state attributes, or None when the server does not know the job."""
    status, data = _ipp(address, "/jobs", _GET_JOB_ATTRIBUTES,
                        _attribute(_URI, "job-uri", f"ipp://localhost/jobs/{number}")
                        + _attribute(_NAME, "requesting-user-name", _user())
                        + _attribute(_KEYWORD, "requested-attributes", "job-state",
                                     "job-state-reasons", "job-printer-state-message"),
                        timeout)
    if status == _NOT_FOUND:
        return None
    if status >= 0x0400:
        raise PrintRefused(f"The print server would not tell the state of job {number} "
                           f"(IPP status 0x{status:04x}).")
    return _parse_attributes(data)


def _get_jobs(address: str, timeout: float) -> list[QueuedJob]:
    """Every job the server keeps, of every printer and user, finished ones too."""
    status, data = _ipp(address, "/", _GET_JOBS,
                        _attribute(_URI, "printer-uri", "ipp://localhost/")
                        + _attribute(_NAME, "requesting-user-name", _user())
                        + _attribute(_KEYWORD, "which-jobs", "all")
                        # "copies" also makes CUPS read each job back from its spool: asked
                        # only for what it keeps in memory (id, state, printer...), CUPS 2.4
                        # leaves out the name and reasons of a job it unloaded (a stopped one).
                        + _attribute(_KEYWORD, "requested-attributes", "job-id", "job-name",
                                     "job-state", "job-state-reasons", "job-printer-uri",
                                     "copies"),
                        timeout)
    if status == _NOT_FOUND:  # no jobs at all
        return []
    if status >= 0x0400:
        raise PrintRefused(f"The print server would not list its jobs (IPP status "
                           f"0x{status:04x}).")
    jobs = []
    for tag, attributes in _parse_groups(data):
        number = attributes.get("job-id", [None])[0]
        if tag != _JOB_GROUP or not isinstance(number, int):
            continue
        printer = str(attributes.get("job-printer-uri", [""])[0]).rstrip("/").rpartition("/")[2]
        state = attributes.get("job-state", [0])[0]
        jobs.append(QueuedJob(
            job_id=f"{printer}-{number}", number=number, printer=printer,
            title=str(attributes.get("job-name", [""])[0]),
            state=JOB_STATES.get(state, "unknown") if isinstance(state, int) else "unknown",
            reasons=tuple(str(r) for r in attributes.get("job-state-reasons", ())),
            copies=_integer(attributes.get("copies", [0])[0])))
    return jobs


def _integer(value: int | str) -> int:
    return value if isinstance(value, int) else 0


def _parse_groups(data: bytes) -> list[tuple[int, dict[str, list[int | str]]]]:
    """The attribute groups of an answer, in order: (group tag, attributes)."""
    groups: list[tuple[int, dict[str, list[int | str]]]] = []
    attributes: dict[str, list[int | str]] = {}
    name = ""
    at = 0
    while at < len(data):
        tag = data[at]
        at += 1
        if tag == _END:
            break
        if tag < 0x10:  # the start of another attribute group
            attributes = {}
            groups.append((tag, attributes))
            continue
        (name_length,) = struct.unpack_from(">H", data, at)
        at += 2
        if name_length:
            name = data[at:at + name_length].decode("utf-8", errors="replace")
        at += name_length
        (value_length,) = struct.unpack_from(">H", data, at)
        at += 2
        raw = data[at:at + value_length]
        at += value_length
        value: int | str = (struct.unpack(">i", raw)[0] if tag in (_INTEGER, _ENUM)
                            and value_length == 4 else raw.decode("utf-8", errors="replace"))
        attributes.setdefault(name, []).append(value)
    return groups


def _parse_attributes(data: bytes) -> dict[str, list[int | str]]:
    """Every attribute of an answer, its groups run together."""
    merged: dict[str, list[int | str]] = {}
    for _tag, attributes in _parse_groups(data):
        for name, values in attributes.items():
            merged.setdefault(name, []).extend(values)
    return merged


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "caseapp"
