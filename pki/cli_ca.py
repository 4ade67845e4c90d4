"""`jinbao pki init` and `jinbao pki crl`: the hierarchy and its CRLs."""

from __future__ import annotations

import click

from jinbao.console import out

from .authority import Authority
from .authz import Credential
from .cli_common import as_option, ca_dir_option, read_secret, say
from .errors import PkiError


@click.command()
@ca_dir_option
@click.option("--estate", default="province", show_default=True, help="Estate whose names certificates may carry.")
@click.option(
    "--key-type",
    default="ecdsa-p384",
    show_default=True,
    type=click.Choice(["ecdsa-p256", "ecdsa-p384", "rsa-3072", "rsa-4096"]),
)
@click.option("--root-pass-file", type=click.Path(dir_okay=False), help="File holding the root key passphrase.")
@click.option("--admin-out", type=click.Path(), help="Where to write the first CA admin's PREFIX.crt/.key.")
@click.option("--force", is_flag=True, help="Destroy an existing CA at --ca-dir and start over.")
def init(ca_dir, estate, key_type, root_pass_file, admin_out, force):
    """Create the hierarchy: offline root, issuing CA with name constraints, OCSP signer, CRLs."""
    passphrase = read_secret(root_pass_file, "JINBAO_PKI_ROOT_PASS", "root key passphrase")
    Authority.init(ca_dir, estate, passphrase, key_type=key_type, force=force, admin_out=admin_out)
    admin = admin_out or ca_dir / "operators" / "admin"
    say(f"CA created in {ca_dir} for estate {estate} ({key_type})")
    say(f"  root (keep offline): {ca_dir}/root/root.crt, key encrypted in {ca_dir}/root/root.key", mark="")
    say(f"  issuing CA: {ca_dir}/issuing/issuing.crt   CRL: {ca_dir}/crl/issuing.crl", mark="")
    say(f"  first CA administrator: {admin}.crt / {admin}.key (mode 0600)", mark="")


@click.command()
@ca_dir_option
@as_option
@click.option(
    "--if-due", type=float, metavar="HOURS", help="Only when the CRL's nextUpdate is within HOURS (for cron)."
)
@click.option("--root", is_flag=True, help="Re-sign the root's CRL (needs the root passphrase).")
@click.option("--root-pass-file", type=click.Path(dir_okay=False))
def crl(ca_dir, operator, if_due, root, root_pass_file):
    """Regenerate the issuing CA's CRL (or the root's)."""
    ca = Authority(ca_dir)
    cred = Credential.from_prefix(operator)
    if root:
        ca.root_crl(cred, read_secret(root_pass_file, "JINBAO_PKI_ROOT_PASS", "root key passphrase"))
        say("root CRL re-signed")
        return
    op = ca.authorize(cred, "crl")
    try:
        due = if_due is None or ca.crl_due(if_due)
    except PkiError as e:
        raise PkiError(f"{e}. Run 'jinbao pki crl' without --if-due to publish a fresh one") from None
    if not due:
        out.print("CRL is not due")
        return
    c = ca.write_crl(op.name)
    say(f"CRL regenerated: {len(c)} revoked, next update {c.next_update_utc.isoformat()}")


@click.command("revoke-issuing-ca")
@ca_dir_option
@as_option
@click.option(
    "--reason",
    default="ca_compromise",
    show_default=True,
    help="ca_compromise, key_compromise, superseded, cessation_of_operation or affiliation_changed.",
)
@click.option("--root-pass-file", type=click.Path(dir_okay=False), help="File holding the root key passphrase.")
def revoke_issuing_ca(ca_dir, operator, reason, root_pass_file):
    """Offline-root ceremony (CA administrator + root passphrase): put the issuing CA on the root's CRL. From then
    on it certifies nothing and OCSP answers 'revoked' for all it issued. There is no undo."""
    passphrase = read_secret(root_pass_file, "JINBAO_PKI_ROOT_PASS", "root key passphrase")
    done = Authority(ca_dir).revoke_issuing_ca(Credential.from_prefix(operator), passphrase, reason)
    say(f"issuing CA {done['serial']} revoked ({done['reason']}): it is on the root's CRL ({ca_dir}/crl/root.crl)")
    say(
        "it certifies nothing more; 'ocsp serve' answers 'revoked' for every certificate it issued. A new issuing "
        "CA is a new CA: 'jinbao pki init --ca-dir NEW-FOLDER'",
        mark="  ",
    )


@click.group("config")
def config():
    """ca.yml, the CA's settings: recorded and sealed in ca.db, changed only by a CA administrator."""


@config.command("adopt")
@ca_dir_option
@as_option
def config_adopt(ca_dir, operator):
    """Make the edited ca.yml the CA's settings (CA administrator; logged). Until then the CA acts for no one.

    The CRL and OCSP lifetimes and the URLs may change; the estate, key type and CA lifetimes are fixed at init."""
    changed = Authority(ca_dir).adopt_config(Credential.from_prefix(operator))
    if not changed:
        say("ca.yml is already the configuration the CA recorded; nothing changed")
        return
    for line in changed:
        say(line.replace("the CA recorded", "was"), mark="  ")
    say(f"ca.yml adopted: {len(changed)} setting(s) changed, logged and sealed")
