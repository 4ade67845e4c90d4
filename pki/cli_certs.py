"""`jinbao pki issue | renew | revoke | list | show | expiring`: an officer's certificates."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from jinbao.console import out

from . import files
from .authority import Authority
from .authz import Credential
from .cli_common import as_option, ca_dir_option, csr_bytes, report, row, say, say_revoked


@click.command()
@ca_dir_option
@as_option
@click.option("--profile", required=True, help="server_tls, client_tls, network_device, person_auth, person_sign.")
@click.option("--device", help="Inventory device the certificate is for (its names come from the inventory).")
@click.option("--person", help="Staff member's name (person profiles).")
@click.option("--email", help="Staff member's e-mail address (person profiles).")
@click.option(
    "--csr", type=click.Path(dir_okay=False, path_type=Path), help="Certify this CSR's key instead of generating one."
)
@click.option("--key-type", help="Key to generate (default: the profile's).")
@click.option("--days", type=int, help="Validity in days (at most the profile's maximum).")
@click.option("--out", "out_prefix", required=True, type=click.Path(), help="Write PREFIX.crt (and PREFIX.key).")
@click.option("--json", "as_json", is_flag=True)
def issue(ca_dir, operator, profile, device, person, email, csr, key_type, days, out_prefix, as_json):
    """Issue a certificate. Names, key and validity are checked against the profile and inventory."""
    issued = Authority(ca_dir).issue(
        Credential.from_prefix(operator),
        profile,
        device=device,
        person=person,
        email=email,
        csr_pem=csr_bytes(csr),
        key_type=key_type,
        days=days,
        out=out_prefix,
    )
    report(issued, files.Outputs(out_prefix, issued.key_pem is not None), as_json)


@click.command()
@ca_dir_option
@as_option
@click.argument("serial")
@click.option(
    "--reason",
    default="unspecified",
    show_default=True,
    help="key_compromise, ca_compromise, affiliation_changed, superseded, cessation_of_operation, …",
)
def revoke(ca_dir, operator, serial, reason):
    """Revoke a certificate; the CRL is regenerated at once and OCSP answers 'revoked'."""
    say_revoked(Authority(ca_dir).revoke(Credential.from_prefix(operator), serial, reason), reason)


@click.command()
@ca_dir_option
@as_option
@click.argument("serial")
@click.option("--csr", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key-type")
@click.option("--out", "out_prefix", required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True)
def renew(ca_dir, operator, serial, csr, key_type, out_prefix, as_json):
    """Issue a successor for a certificate: same profile and subject, fresh key and validity.

    An operator credential is renewed only by its holder (--as it), to --out; the OCSP signer only by a CA
    administrator, in place. A lost operator credential is revoked ('operator revoke') and its holder enrolled
    again ('operator add')."""
    issued = Authority(ca_dir).renew(
        Credential.from_prefix(operator), serial, csr_pem=csr_bytes(csr), key_type=key_type, out=out_prefix
    )
    in_place = issued.profile == "ocsp_signer"
    report(
        issued, files.Outputs(ca_dir / "ocsp" / "ocsp" if in_place else out_prefix, issued.key_pem is not None), as_json
    )
    if in_place and not as_json:
        say(
            "the OCSP signer's key stays in the CA folder; a running 'jinbao pki ocsp serve' takes it up at its next "
            "request",
            mark="  ",
        )


@click.command("list")
@ca_dir_option
@as_option
@click.option("--site")
@click.option("--profile")
@click.option("--device")
@click.option("--status", type=click.Choice(["valid", "revoked", "expired"]))
@click.option("--json", "as_json", is_flag=True)
def list_(ca_dir, operator, site, profile, device, status, as_json):
    """List certificates, filtered."""
    rows = Authority(ca_dir).list(
        Credential.from_prefix(operator), site=site, profile=profile, status=status, device=device
    )
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    t = Table(title=f"{len(rows)} certificate(s)")
    for col in ("serial", "status", "profile", "site", "subject", "not after"):
        t.add_column(col)
    for r in rows:
        row(t, r["serial"], r["status"], r["profile"], r["site"] or "", r["subject"], r["not_after"][:10])
    out.print(t)


@click.command()
@ca_dir_option
@as_option
@click.argument("serial")
def show(ca_dir, operator, serial):
    """Show one certificate's record and PEM."""
    click.echo(
        json.dumps(Authority(ca_dir).show(Credential.from_prefix(operator), serial), indent=1, ensure_ascii=False)
    )


@click.command()
@ca_dir_option
@as_option
@click.option("--days", default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def expiring(ca_dir, operator, days, as_json):
    """Valid certificates expiring within N days, per site."""
    per_site = Authority(ca_dir).expiring(Credential.from_prefix(operator), days)
    if as_json:
        click.echo(json.dumps(per_site, ensure_ascii=False))
        return
    if not per_site:
        say(f"no certificate expires within {days} days", mark="")
    for site, rows in sorted(per_site.items()):
        t = Table(title=escape(f"{site}: {len(rows)} expiring within {days} days"))
        for col in ("serial", "device", "profile", "days left", "not after"):
            t.add_column(col)
        for r in rows:
            row(t, r["serial"], r["device"] or "", r["profile"], r["days_left"], r["not_after"][:16])
        out.print(t)
