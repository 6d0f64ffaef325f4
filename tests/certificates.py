"""Throw-away TLS certificates for the test servers (Dovecot, SMTP, PostgreSQL), made by
the openssl command: a CA made for the run and a server certificate it signs. Clients
trust that CA's file only, as a desk trusts its own CA's."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

LOCAL_NAMES = ("DNS:localhost", "IP:127.0.0.1")


def make_certificates(folder: Path, names: tuple[str, ...] = LOCAL_NAMES) -> Path:
    """A throw-away CA and a certificate it signs for ``names`` (subjectAltName entries)
    in ``folder`` (server.crt, server.key); returns the CA file."""
    folder.mkdir(parents=True)
    ca_key, ca_crt = folder / "ca.key", folder / "ca.crt"
    key, csr, crt = folder / "server.key", folder / "server.csr", folder / "server.crt"
    ext = folder / "server.ext"
    ext.write_text(
        f"subjectAltName={','.join(names)}\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    commands = [
        ["openssl", "req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca_crt),
         "-days", "2", "-subj", "/CN=caseapp test CA"],
        ["openssl", "req", *ec, "-keyout", str(key), "-out", str(csr),
         "-subj", f"/CN={names[0].split(':', 1)[1]}"],
        ["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key),
         "-CAcreateserial", "-out", str(crt), "-days", "2", "-extfile", str(ext)],
    ]
    if shutil.which("openssl") is None:
        raise RuntimeError("The openssl command is missing (apt-get install openssl).")
    for command in commands:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"openssl failed: {' '.join(command)}\n{result.stderr}")
    return ca_crt
