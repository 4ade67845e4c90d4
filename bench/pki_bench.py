"""PKI benchmark, each figure next to the openssl CLI doing the same work in the same run:
1. issue 1,000 ECDSA P-256 certificates (key generation + signing);
2. build a CRL with 100,000 revoked entries (and time one revocation at that size);
3. OCSP responses per second, jinbao's responder against `openssl ocsp -port`;
4. issue 200 more with those 100,000 recorded (the key checks are index lookups), against the same openssl rate.

Anchors from the issue: EJBCA's "hundreds of certificates per second"; Vault's 2-3 s per
revocation at 17k entries.

Run: make bench-pki   (BENCH_PKI_CERTS, BENCH_PKI_REVOKED, BENCH_PKI_OCSP to resize)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.x509 import ocsp  # noqa: E402

from pki.authority import Authority  # noqa: E402
from pki.authz import Credential  # noqa: E402

N_CERTS = int(os.environ.get("BENCH_PKI_CERTS", "1000"))
N_REVOKED = int(os.environ.get("BENCH_PKI_REVOKED", "100000"))
N_OCSP = int(os.environ.get("BENCH_PKI_OCSP", "2000"))


def run(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


def line(what, ours, theirs, unit, higher_is_better=True):
    ratio = ours / theirs if higher_is_better else theirs / ours
    print(f"{what:<44} jinbao {ours:>10.1f} {unit:<10} openssl {theirs:>10.1f} {unit:<10} {ratio:5.1f}x", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_issue(ca, cred, tmp: Path):
    t = time.perf_counter()
    for _ in range(N_CERTS):
        ca.issue(cred, "server_tls", device="prov-db1")
    ours = N_CERTS / (time.perf_counter() - t)
    ext = tmp / "ext.cnf"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
        "subjectAltName=DNS:prov-db1.lab.hrss.ah.example\n"
    )
    iss = ca.dir / "issuing"
    t = time.perf_counter()
    for i in range(N_CERTS):
        run(
            "openssl",
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(tmp / "k.pem"),
            "-subj",
            "/CN=prov-db1.lab.hrss.ah.example",
            "-out",
            str(tmp / "r.csr"),
        )
        run(
            "openssl",
            "x509",
            "-req",
            "-in",
            str(tmp / "r.csr"),
            "-CA",
            str(iss / "issuing.crt"),
            "-CAkey",
            str(iss / "issuing.key"),
            "-set_serial",
            str(1000 + i),
            "-days",
            "365",
            "-sha384",
            "-extfile",
            str(ext),
            "-out",
            str(tmp / "c.pem"),
        )
    theirs = N_CERTS / (time.perf_counter() - t)
    line(f"issue {N_CERTS} ECDSA P-256 certificates", ours, theirs, "certs/s")
    return theirs


def bench_issue_at_scale(ca, cred, openssl_rate: float):
    """Issuing once the CA has recorded 100,000 more certificates: every key check (a compromised key, another
    subject's, an operator's) is an index lookup, so the rate should stay near the empty CA's."""
    n = max(N_CERTS // 5, 1)
    t = time.perf_counter()
    for _ in range(n):
        ca.issue(cred, "server_tls", device="prov-db1")
    ours = n / (time.perf_counter() - t)
    line(f"issue {n} more at {N_REVOKED + N_CERTS:,} recorded", ours, openssl_rate, "certs/s")


def bench_crl(ca, cred, tmp: Path):
    now = time.time()
    rows = [
        (
            format(0x10_0000_0000 + i, "x"),
            "server_tls",
            "CN=x",
            "prov-db1",
            "prov",
            now,
            now + 86400 * 365,
            f"fp{i}",
            "",
            "bench",
            now - 60,
            "superseded" if i % 3 else "key_compromise",
            f"{i:064x}",  # a key hash of its own: these rows stand for certificates of other keys
        )
        for i in range(N_REVOKED)
    ]
    with ca.store.transaction() as db:
        db.executemany(
            "INSERT INTO certs (serial, profile, subject, device, site, not_before, not_after, fingerprint,"
            " pem, issued_by, revoked_at, revoke_reason, key_sha256) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
    t = time.perf_counter()
    crl = ca.write_crl("bench")
    ours = time.perf_counter() - t
    assert len(crl) >= N_REVOKED
    # openssl ca -gencrl over an index.txt of the same revoked serials
    d = tmp / "osslca"
    d.mkdir()
    exp = (datetime.now(UTC) + timedelta(days=365)).strftime("%y%m%d%H%M%SZ")
    rev = datetime.now(UTC).strftime("%y%m%d%H%M%SZ")
    with open(d / "index.txt", "w") as f:
        for r in rows:
            f.write(f"R\t{exp}\t{rev},{r[11].replace('_c', 'C')}\t{r[0].upper()}\tunknown\t/CN=x{r[0]}\n")
    (d / "crlnumber").write_text("01\n")
    (d / "ca.cnf").write_text(f"""[ca]\ndefault_ca=c\n[c]\ndatabase={d}/index.txt\ncrlnumber={d}/crlnumber\n
default_md=sha384\ndefault_crl_days=1\nunique_subject=no\n""")
    t = time.perf_counter()
    run(
        "openssl",
        "ca",
        "-config",
        str(d / "ca.cnf"),
        "-gencrl",
        "-keyfile",
        str(ca.dir / "issuing" / "issuing.key"),
        "-cert",
        str(ca.dir / "issuing" / "issuing.crt"),
        "-out",
        str(d / "crl.pem"),
    )
    theirs = time.perf_counter() - t
    n = run("openssl", "crl", "-in", str(d / "crl.pem"), "-noout", "-text").stdout.count(b"Serial Number:")
    assert n >= N_REVOKED, n
    line(f"CRL with {N_REVOKED} revoked entries", ours, theirs, "s", higher_is_better=False)
    victim = ca.issue(cred, "server_tls", device="prov-db1")
    t = time.perf_counter()
    ca.revoke(cred, victim.serial, "key_compromise")
    print(
        f"{f'one revocation at {N_REVOKED + 1} entries (CRL rebuilt)':<44} "
        f"jinbao {time.perf_counter() - t:>10.2f} s"
        "          (Vault: 2-3 s at 17k)",
        flush=True,
    )
    return rows


def bench_ocsp(ca, cred, tmp: Path):
    issued = ca.issue(cred, "server_tls", device="prov-db1")
    issuer = x509.load_pem_x509_certificate((ca.dir / "issuing" / "issuing.crt").read_bytes())
    req = ocsp.OCSPRequestBuilder().add_certificate(issued.cert, issuer, hashes.SHA1()).build()
    der = req.public_bytes(serialization.Encoding.DER)

    reqfile = tmp / "req.der"
    reqfile.write_bytes(der)

    def load(url, n, concurrency=4):
        """ApacheBench (C) as the client, so the client is not what limits the figure."""
        out = run(
            "ab", "-q", "-n", str(n), "-c", str(concurrency), "-p", str(reqfile), "-T", "application/ocsp-request", url
        ).stdout.decode()
        # ab flags a response whose length differs from the first as "failed (Length)": ECDSA
        # signatures vary by a byte or two, so only connect/receive/exception failures count.
        import re

        m = re.search(r"\(Connect: (\d+), Receive: (\d+), Length: \d+, Exceptions: (\d+)\)", out)
        failed = sum(int(x) for x in m.groups()) if m else 0
        non2xx = [l for l in out.splitlines() if l.startswith("Non-2xx")]
        if failed or non2xx:
            raise SystemExit(f"{failed} failed requests to {url}:\n{out}")
        return float(next(l.split()[3] for l in out.splitlines() if l.startswith("Requests per second")))

    port = free_port()
    ours_p = subprocess.Popen(
        [sys.executable, "-m", "jinbao.cli", "pki", "ocsp", "serve", "--ca-dir", str(ca.dir), "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    ours_p.stdout.readline()
    # the openssl responder, over an index holding the same certificate as valid
    d = tmp / "ocspidx"
    d.mkdir()
    exp = issued.cert.not_valid_after_utc.strftime("%y%m%d%H%M%SZ")
    (d / "index.txt").write_text(f"V\t{exp}\t\t{issued.serial.upper()}\tunknown\t/CN=x\n")
    port2 = free_port()
    # openssl 3.0's -port takes only a number (it listens on every address); we send only to 127.0.0.1.
    theirs_p = subprocess.Popen(
        [
            "openssl",
            "ocsp",
            "-index",
            str(d / "index.txt"),
            "-port",
            str(port2),
            "-rsigner",
            str(ca.dir / "ocsp" / "ocsp.crt"),
            "-rkey",
            str(ca.dir / "ocsp" / "ocsp.key"),
            "-CA",
            str(ca.dir / "issuing" / "issuing.crt"),
            "-nmin",
            "60",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # openssl's responder serves one connection at a time, so a bare connect() would stall it:
        # wait for readiness with a real request instead.
        for _ in range(50):
            try:
                urllib.request.urlopen(
                    urllib.request.Request(
                        f"http://127.0.0.1:{port2}/", data=der, headers={"Content-Type": "application/ocsp-request"}
                    ),
                    timeout=2,
                ).read()
                break
            except OSError:
                time.sleep(0.1)
        ours = load(f"http://127.0.0.1:{port}/", N_OCSP)
        theirs = load(f"http://127.0.0.1:{port2}/", N_OCSP)
    finally:
        ours_p.kill()
        theirs_p.kill()
        ours_p.wait()
        theirs_p.wait()
    line(f"OCSP, {N_OCSP} requests, 4 concurrent (ab)", ours, theirs, "resp/s")


def main():
    print("== PKI benchmark (ECDSA P-384 CA; openssl CLI measured in this same run) ==", flush=True)
    with tempfile.TemporaryDirectory(prefix="jinbao-pkibench-") as tmpdir:
        tmp = Path(tmpdir)
        ca = Authority.init(tmp / "ca", "lab", b"bench root passphrase", admin_out=tmp / "admin")
        ca.add_operator(Credential.from_prefix(tmp / "admin"), "bench", "officer", tmp / "officer")
        cred = Credential.from_prefix(tmp / "officer")
        openssl_rate = bench_issue(ca, cred, tmp)
        bench_ocsp(ca, cred, tmp)
        bench_crl(ca, cred, tmp)
        bench_issue_at_scale(ca, cred, openssl_rate)


if __name__ == "__main__":
    main()
