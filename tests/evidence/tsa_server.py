"""A local RFC 3161 time-stamp authority: ``openssl ts -reply`` behind a loopback HTTP server,
with its own root CA and a TSA certificate (extendedKeyUsage timeStamping), made fresh in a
temporary directory. Nothing leaves 127.0.0.1."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

CONFIG = """\
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.crt
certs = $dir/tsa.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5.6
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""

EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
"""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_authority(d: Path) -> None:
    """ca.crt / ca.key, tsa.crt / tsa.key and the ``openssl ts`` configuration in ``d``."""
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "30",
             "-subj", "/CN=slawatch test TSA root", "-addext",
             "basicConstraints=critical,CA:TRUE", "-addext",
             "keyUsage=critical,keyCertSign,cRLSign", cwd=d)  # fmt: skip
    _openssl("req", *ec, "-keyout", "tsa.key", "-out", "tsa.csr",
             "-subj", "/CN=slawatch test TSA", cwd=d)  # fmt: skip
    (d / "ext.cnf").write_text(EXTENSIONS)
    _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "tsa.crt", "-days", "30", "-extfile", "ext.cnf",
             cwd=d)  # fmt: skip
    (d / "serial").write_text("01\n")
    (d / "tsa.cnf").write_text(CONFIG.format(dir=d))


class Authority:
    """``with Authority() as tsa:`` ``tsa.url`` answers time-stamp queries; ``tsa.ca`` is its
    root certificate; ``tsa.answered`` counts the queries it signed."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="slawatch-tsa-")
        self.dir = Path(self._tmp.name)
        self.ca = self.dir / "ca.crt"
        self.answered = 0
        self.refuse = False
        make_authority(self.dir)
        authority = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = self.rfile.read(int(self.headers["Content-Length"]))
                if authority.refuse:
                    self.send_error(503, "closed")
                    return
                reply = authority.sign(query)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/tsa"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def sign(self, query: bytes) -> bytes:
        n = self.answered = self.answered + 1
        q, r = self.dir / f"q{n}.tsq", self.dir / f"r{n}.tsr"
        q.write_bytes(query)
        _openssl("ts", "-reply", "-config", "tsa.cnf", "-queryfile", q.name, "-out", r.name,
                 cwd=self.dir)  # fmt: skip
        return r.read_bytes()

    def __enter__(self) -> Authority:
        self._thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._tmp.cleanup()
