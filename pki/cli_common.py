"""What the `jinbao pki` commands share: the --ca-dir and --as options, reading secrets and CSRs, and printing
for people."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from jinbao.console import out

from . import files
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


def read_secret(path: str | None, env: str, prompt: str) -> bytes:
    """A passphrase from a file, the environment or the terminal; never from a command-line value."""
    if path:
        return files.read_input(path, "--root-pass-file", limit=4096).rstrip(b"\r\n")
    if os.environ.get(env):
        return os.environ[env].encode()
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True).encode()
    raise PkiError(f"no passphrase: give --root-pass-file FILE or set {env}")


def csr_bytes(path: Path | None) -> bytes | None:
    return files.read_input(path, "--csr") if path else None


def say(message: str, mark: str = "[green]✓[/] ") -> None:
    """Print a line for people. What it carries (names, paths, subjects) came from people and CSRs, so it is
    never read as rich markup: a '[/]' in a name must not crash the CLI after the work is done."""
    out.print(mark + escape(message))


def row(t: Table, *cells) -> None:
    t.add_row(*(escape(str(c)) for c in cells))


def report(issued, written: files.Outputs, as_json):
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
        say(
            f"issued {info['serial']} to {info['subject']} until {info['not_after']}: {crt}"
            + (f" (key {key}, mode 0600)" if key else "")
        )


def say_revoked(done, reason: str) -> None:
    """Say what a revocation did to an operator, not only to a serial: revoking a credential that was renewed
    leaves its operator acting with the new one."""
    serials = ", ".join(done.serials)
    if done.operator and done.still_active:
        say(f"revoked {serials} ({reason}), an earlier credential of operator {done.operator}; CRL regenerated")
        say(
            f"operator {done.operator} remains active with credential {done.still_active}. To stop them, run "
            f"'jinbao pki operator revoke {done.operator}' (it revokes every credential they hold)",
            mark="[yellow]![/] ",
        )
    elif done.operator:
        say(f"revoked {serials} ({reason}): operator {done.operator} can no longer act; CRL regenerated")
    else:
        say(f"revoked {serials} ({reason}); CRL regenerated")
    for serial, whose in done.same_key:
        say(f"also revoked {serial} ({whose}), a certificate of the same key ({reason})", mark="  ")
