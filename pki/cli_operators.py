"""`jinbao pki operator …`: the CA's operators (a CA administrator's commands)."""

from __future__ import annotations

import click

from .authority import Authority
from .authz import Credential
from .cli_common import as_option, ca_dir_option, read_secret, say, say_revoked


@click.group()
def operator():
    """CA operators: administrator, certificate officer, auditor."""


@operator.command("add")
@ca_dir_option
@as_option
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["ca_admin", "officer", "auditor"]))
@click.option("--out", "out_prefix", required=True, type=click.Path(), help="Write PREFIX.crt/.key here.")
def operator_add(ca_dir, operator, name, role, out_prefix):
    """Add a CA operator (a CA administrator's job)."""
    issued = Authority(ca_dir).add_operator(Credential.from_prefix(operator), name, role, out_prefix)
    say(f"operator {name} ({role}), certificate {issued.serial}: {out_prefix}.crt / .key")


@operator.command("revoke")
@ca_dir_option
@as_option
@click.argument("name")
@click.option(
    "--reason",
    default="affiliation_changed",
    show_default=True,
    help="key_compromise, affiliation_changed, superseded, cessation_of_operation, …",
)
def operator_revoke(ca_dir, operator, name, reason):
    """Revoke every credential an operator holds, current and renewed-from (a CA administrator's job)."""
    say_revoked(Authority(ca_dir).revoke_operator(Credential.from_prefix(operator), name, reason), reason)


@operator.command("recover-admin")
@ca_dir_option
@click.argument("name")
@click.option("--out", "out_prefix", required=True, type=click.Path(), help="Write PREFIX.crt/.key here.")
@click.option("--root-pass-file", type=click.Path(dir_okay=False), help="File holding the root key passphrase.")
def operator_recover_admin(ca_dir, name, out_prefix, root_pass_file):
    """Make a new CA administrator with the offline root's passphrase (when every ca_admin is lost)."""
    passphrase = read_secret(root_pass_file, "JINBAO_PKI_ROOT_PASS", "root key passphrase")
    issued = Authority(ca_dir).recover_admin(passphrase, name, out_prefix)
    say(
        f"CA administrator {name} recovered with the root key, certificate {issued.serial}: "
        f"{out_prefix}.crt / .key (mode 0600); the audit log records it"
    )
