"""`jinbao pki deploy`: a device certificate, its chain and key onto a lab node."""

from __future__ import annotations

from pathlib import Path

import click

from . import files
from .authority import Authority
from .authz import Credential
from .cli_common import as_option, ca_dir_option, say


@click.command()
@ca_dir_option
@as_option
@click.option("--cert", "cert_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--lab", "lab_id", required=True, help="Lab id whose node receives the certificate.")
@click.option("--node", required=True)
@click.option(
    "--serve-port", type=click.IntRange(1, 65535), help="Start a TLS service presenting the certificate on this port."
)
def deploy(ca_dir, operator, cert_file, key_file, lab_id, node, serve_port):
    """Push a certificate, its chain and key to a lab node over SSH; optionally serve TLS with it."""
    from lab.runtime import Lab

    from .deploy import SshTarget, chain_for
    from .deploy import deploy as do_deploy

    cert, key = files.read_input(cert_file, "--cert"), files.read_input(key_file, "--key")
    Authority(ca_dir).authorize_deploy(Credential.from_prefix(operator), cert, key)
    lab = Lab.find(lab_id)
    args = lab.ssh_args(node)
    target = SshTarget(host=node, ssh_args=tuple(args), via=("ip", "netns", "exec", lab.plan.ops_ns))
    res = do_deploy(target, cert, key, chain_for(ca_dir), serve_port=serve_port)
    say(
        f"deployed to {node}:~/{res['dir']} (key mode {res['key_mode']})"
        + (f", TLS on port {serve_port}" if serve_port else "")
    )
