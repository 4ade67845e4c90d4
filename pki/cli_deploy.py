"""`jinbao pki deploy`: a device certificate, its chain and key onto a lab node."""

from __future__ import annotations

from pathlib import Path

import click

from jinbao.console import finish, print_failures
from jinbao.result import AggregatedResult
from jinbao.target import target

from . import files
from .authority import Authority
from .authz import Credential
from .cli_common import as_option, ca_dir_option, say
from .deploy import chain_for
from .deploy import deploy as do_deploy


@click.command()
@ca_dir_option
@as_option
@click.option("--cert", "cert_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--lab", "lab_id", required=True, help="Lab id whose node receives the certificate (targets lab:<id>).")
@click.option("--node", required=True)
@click.option(
    "--serve-port", type=click.IntRange(1, 65535), help="Start a TLS service presenting the certificate on this port."
)
def deploy(ca_dir, operator, cert_file, key_file, lab_id, node, serve_port):
    """Push a certificate, its chain and key to a lab node over SSH; optionally serve TLS with it.

    Exit 1 when the node cannot be reached or refuses a step (the target failed), 2 for bad input."""
    cert, key = files.read_input(cert_file, "--cert"), files.read_input(key_file, "--key")
    Authority(ca_dir).authorize_deploy(Credential.from_prefix(operator), cert, key)
    res = do_deploy(target(f"lab:{lab_id}", node), cert, key, chain_for(ca_dir), serve_port=serve_port)
    if res.failed:
        agg = AggregatedResult(res.task, {res.host: res})
        print_failures(agg)
        finish(agg)
    say(
        f"deployed to {node}:~/{res.data['dir']} (key mode {res.data['key_mode']})"
        + (f", TLS on port {serve_port}" if serve_port else "")
    )
