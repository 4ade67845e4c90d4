"""`jinbao pki …`: the security officer's commands. Every command but init and ocsp serve acts as
an operator, proven by --as PREFIX (PREFIX.crt + PREFIX.key) or JINBAO_PKI_OPERATOR."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from jinbao.console import out

from . import files
from .authority import Authority
from .authz import Credential
from .errors import PkiError

DEFAULT_DIR = Path(os.environ.get("JINBAO_PKI_DIR", Path.home() / ".jinbao" / "pki"))

ca_dir_option = click.option(
    "--ca-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DIR,
    envvar="JINBAO_PKI_DIR",
    show_default=True,
    help="The CA folder.",
)
as_option = click.option(
    "--as",
    "operator",
    envvar="JINBAO_PKI_OPERATOR",
    required=True,
    metavar="PREFIX",
    help="Your operator credential: PREFIX.crt and PREFIX.key.",
)


def _read_secret(path: str | None, env: str, prompt: str) -> bytes:
    """A passphrase from a file, the environment or the terminal; never from a command-line value."""
    if path:
        return files.read_input(path, "--root-pass-file", limit=4096).rstrip(b"\r\n")
    if os.environ.get(env):
        return os.environ[env].encode()
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True).encode()
    raise PkiError(f"no passphrase: give --root-pass-file FILE or set {env}")


def _csr(path: Path | None) -> bytes | None:
    return files.read_input(path, "--csr") if path else None


def _say(message: str, mark: str = "[green]✓[/] ") -> None:
    """Print a line for people. What it carries (names, paths, subjects) came from people and CSRs, so it is
    never read as rich markup: a '[/]' in a name must not crash the CLI after the work is done."""
    out.print(mark + escape(message))


def _row(t: Table, *cells) -> None:
    t.add_row(*(escape(str(c)) for c in cells))


class _Group(click.Group):
    """A file-system error on a path someone typed (a name too long for the file system, a folder that is a
    file) is bad input like any other: a message and exit 2, not a traceback; so is a database that stays
    locked or turns out damaged (its transaction rolled back). jinbao's CLI prints every error as
    text, never as markup, so a '[/]' in a name needs nothing here."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except OSError as e:
            where = f"{str(e.filename)[:120]}: " if e.filename else ""
            raise PkiError(f"{where}{e.strerror or e}; check the path or address you gave") from None
        except sqlite3.Error as e:  # locked past the busy timeout, or damaged beyond what opening it showed
            raise PkiError(
                f"the CA database failed: {e}; nothing was changed. Retry, or restore the CA folder from a backup"
            ) from None


@click.group(cls=_Group)
def cli():
    """The programme's certificate authority: offline root, issuing CA, CRL and OCSP."""


cli.name = "pki"


@cli.command()
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
    passphrase = _read_secret(root_pass_file, "JINBAO_PKI_ROOT_PASS", "root key passphrase")
    Authority.init(ca_dir, estate, passphrase, key_type=key_type, force=force, admin_out=admin_out)
    admin = admin_out or ca_dir / "operators" / "admin"
    _say(f"CA created in {ca_dir} for estate {estate} ({key_type})")
    _say(f"  root (keep offline): {ca_dir}/root/root.crt, key encrypted in {ca_dir}/root/root.key", mark="")
    _say(f"  issuing CA: {ca_dir}/issuing/issuing.crt   CRL: {ca_dir}/crl/issuing.crl", mark="")
    _say(f"  first CA administrator: {admin}.crt / {admin}.key (mode 0600)", mark="")


@cli.group()
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
    _say(f"operator {name} ({role}), certificate {issued.serial}: {out_prefix}.crt / .key")


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
    _say_revoked(Authority(ca_dir).revoke_operator(Credential.from_prefix(operator), name, reason), reason)


@operator.command("recover-admin")
@ca_dir_option
@click.argument("name")
@click.option("--out", "out_prefix", required=True, type=click.Path(), help="Write PREFIX.crt/.key here.")
@click.option("--root-pass-file", type=click.Path(dir_okay=False), help="File holding the root key passphrase.")
def operator_recover_admin(ca_dir, name, out_prefix, root_pass_file):
    """Make a new CA administrator with the offline root's passphrase (when every ca_admin is lost)."""
    passphrase = _read_secret(root_pass_file, "JINBAO_PKI_ROOT_PASS", "root key passphrase")
    issued = Authority(ca_dir).recover_admin(passphrase, name, out_prefix)
    _say(
        f"CA administrator {name} recovered with the root key, certificate {issued.serial}: "
        f"{out_prefix}.crt / .key (mode 0600); the audit log records it"
    )


@cli.command()
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
        csr_pem=_csr(csr),
        key_type=key_type,
        days=days,
        out=out_prefix,
    )
    _report(issued, files.Outputs(out_prefix, issued.key_pem is not None), as_json)


def _report(issued, written: files.Outputs, as_json):
    crt, key = written.crt, written.key
    info = {
        "serial": issued.serial,
        "subject": issued.cert.subject.rfc4514_string(),
        "not_after": issued.cert.not_valid_after_utc.isoformat(),
        "cert": str(crt),
        "key": str(key) if key else None,
    }
    if as_json:
        click.echo(json.dumps(info))
    else:
        _say(
            f"issued {info['serial']} to {info['subject']} until {info['not_after']}: {crt}"
            + (f" (key {key}, mode 0600)" if key else "")
        )


@cli.command()
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
    _say_revoked(Authority(ca_dir).revoke(Credential.from_prefix(operator), serial, reason), reason)


def _say_revoked(done, reason: str) -> None:
    """Say what a revocation did to an operator, not only to a serial: revoking a credential that was renewed
    leaves its operator acting with the new one."""
    serials = ", ".join(done.serials)
    if done.operator and done.still_active:
        _say(f"revoked {serials} ({reason}), an earlier credential of operator {done.operator}; CRL regenerated")
        _say(
            f"operator {done.operator} remains active with credential {done.still_active}. To stop them, run "
            f"'jinbao pki operator revoke {done.operator}' (it revokes every credential they hold)",
            mark="[yellow]![/] ",
        )
    elif done.operator:
        _say(f"revoked {serials} ({reason}): operator {done.operator} can no longer act; CRL regenerated")
    else:
        _say(f"revoked {serials} ({reason}); CRL regenerated")


@cli.command()
@ca_dir_option
@as_option
@click.argument("serial")
@click.option("--csr", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key-type")
@click.option("--out", "out_prefix", required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True)
def renew(ca_dir, operator, serial, csr, key_type, out_prefix, as_json):
    """Issue a successor for a certificate: same profile and subject, fresh key and validity.

    The CA's own certificates are renewed only by a CA administrator: an operator's credential to --out,
    the OCSP signer in place."""
    issued = Authority(ca_dir).renew(
        Credential.from_prefix(operator), serial, csr_pem=_csr(csr), key_type=key_type, out=out_prefix
    )
    in_place = issued.profile == "ocsp_signer"
    _report(
        issued, files.Outputs(ca_dir / "ocsp" / "ocsp" if in_place else out_prefix, issued.key_pem is not None), as_json
    )
    if in_place and not as_json:
        _say(
            "the OCSP signer's key stays in the CA folder; a running 'jinbao pki ocsp serve' takes it up at its next "
            "request",
            mark="  ",
        )


@cli.command("list")
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
        _row(t, r["serial"], r["status"], r["profile"], r["site"] or "", r["subject"], r["not_after"][:10])
    out.print(t)


@cli.command()
@ca_dir_option
@as_option
@click.argument("serial")
def show(ca_dir, operator, serial):
    """Show one certificate's record and PEM."""
    click.echo(
        json.dumps(Authority(ca_dir).show(Credential.from_prefix(operator), serial), indent=1, ensure_ascii=False)
    )


@cli.command()
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
        _say(f"no certificate expires within {days} days", mark="")
    for site, rows in sorted(per_site.items()):
        t = Table(title=escape(f"{site}: {len(rows)} expiring within {days} days"))
        for col in ("serial", "device", "profile", "days left", "not after"):
            t.add_column(col)
        for r in rows:
            _row(t, r["serial"], r["device"] or "", r["profile"], r["days_left"], r["not_after"][:16])
        out.print(t)


@cli.command()
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
        ca.root_crl(cred, _read_secret(root_pass_file, "JINBAO_PKI_ROOT_PASS", "root key passphrase"))
        _say("root CRL re-signed")
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
    _say(f"CRL regenerated: {len(c)} revoked, next update {c.next_update_utc.isoformat()}")


@cli.group()
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
    _say(f"OCSP responder for {ca_dir} on http://{host}:{server.server_address[1]}/", mark="")
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


@ocsp.command("renew-signer")
@ca_dir_option
@as_option
def ocsp_renew_signer(ca_dir, operator):
    """Issue a fresh delegated OCSP signer (CA administrator); 'ocsp serve' switches to it by itself."""
    issued = Authority(ca_dir).renew_ocsp_signer(Credential.from_prefix(operator))
    _say(f"new OCSP signer {issued.serial}, valid until {issued.cert.not_valid_after_utc.isoformat()}")


@cli.group()
def audit():
    """The hash-chained audit log (auditor role)."""


@audit.command("verify")
@ca_dir_option
@as_option
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Your own record of the log's head, kept off the CA machine: checked, then advanced.",
)
def audit_verify(ca_dir, operator, checkpoint):
    """Recompute the chain and check every entry's signature; exit 1 on tampering."""
    n, problems = Authority(ca_dir).verify_audit(Credential.from_prefix(operator), checkpoint)
    if problems:
        for p in problems:
            _say(p, mark="[red]✗[/] ")
        out.print(
            f"[red]{len(problems)} problem(s): the CA (audit log of {n} entries, tables or published files) has "
            "been tampered with[/]"
        )
        sys.exit(1)
    _say(
        f"audit log intact: {n} entries, chain and signatures verify; the tables match the log and the CA's seal, "
        "and the published CRLs are the CA's latest"
    )


@audit.command("show")
@ca_dir_option
@as_option
@click.option("--json", "as_json", is_flag=True)
def audit_show(ca_dir, operator, as_json):
    rows = Authority(ca_dir).audit_log(Credential.from_prefix(operator))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    t = Table(title=f"audit log ({len(rows)} entries)")
    for col in ("seq", "time", "actor", "action", "detail"):
        t.add_column(col, overflow="fold")
    for r in rows:
        _row(t, r["seq"], r["time"][:19], r["actor"], r["action"], r["detail"])
    out.print(t)


@cli.command()
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
    from jinbao.console import finish, print_failures
    from jinbao.result import AggregatedResult
    from jinbao.target import target

    from .deploy import chain_for
    from .deploy import deploy as do_deploy

    cert, key = files.read_input(cert_file, "--cert"), files.read_input(key_file, "--key")
    Authority(ca_dir).authorize_deploy(Credential.from_prefix(operator), cert, key)
    res = do_deploy(target(f"lab:{lab_id}", node), cert, key, chain_for(ca_dir), serve_port=serve_port)
    if res.failed:
        agg = AggregatedResult(res.task, {res.host: res})
        print_failures(agg)
        finish(agg)
    _say(
        f"deployed to {node}:~/{res.data['dir']} (key mode {res.data['key_mode']})"
        + (f", TLS on port {serve_port}" if serve_port else "")
    )
