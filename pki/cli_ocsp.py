"""`jinbao pki ocsp …`: the OCSP responder and its signer."""

from __future__ import annotations

import contextlib
import math
import sys

import click

from .authority import Authority
from .authz import Credential
from .cli_common import as_option, ca_dir_option, say
from .errors import PkiError


@click.group()
def ocsp():
    """The OCSP responder."""


@ocsp.command("serve")
@ca_dir_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; another than this machine's loopback only when given explicitly.",
)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds a client may take to send a request, or stay idle between requests.",
)
def ocsp_serve(ca_dir, host, port, timeout):
    """Answer OCSP requests (RFC 6960) over HTTP until interrupted."""
    from .ocsp import serve

    if not host.strip():  # asyncio reads '' as every interface: never by accident
        raise PkiError("--host '': give an address to listen on (127.0.0.1 by default; 0.0.0.0 for every interface)")
    if not math.isfinite(timeout):  # FloatRange lets nan through: every comparison with it is false
        raise PkiError(f"--timeout {timeout}: give a number of seconds from 0.1 to 3600")

    server = serve(ca_dir, host, port, timeout=timeout)
    say(f"OCSP responder for {ca_dir} on http://{host}:{server.server_address[1]}/", mark="")
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


@ocsp.command("renew-signer")
@ca_dir_option
@as_option
def ocsp_renew_signer(ca_dir, operator):
    """Issue a fresh delegated OCSP signer (CA administrator); 'ocsp serve' switches to it by itself."""
    issued = Authority(ca_dir).renew_ocsp_signer(Credential.from_prefix(operator))
    say(f"new OCSP signer {issued.serial}, valid until {issued.cert.not_valid_after_utc.isoformat()}")
