"""`jinbao pki …`: the security officer's commands. Every command but init and ocsp serve acts as
an operator, proven by --as PREFIX (PREFIX.crt + PREFIX.key) or JINBAO_PKI_OPERATOR.

The commands live beside this group, one module per family (cli_ca, cli_certs, cli_operators, cli_ocsp,
cli_audit, cli_deploy); this module assembles them.
"""

from __future__ import annotations

import sqlite3

import click

from . import cli_audit, cli_ca, cli_certs, cli_deploy, cli_ocsp, cli_operators
from .errors import PkiError


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


for command in (
    cli_ca.init,
    cli_ca.crl,
    cli_ca.config,
    cli_ca.revoke_issuing_ca,
    cli_certs.issue,
    cli_certs.renew,
    cli_certs.revoke,
    cli_certs.list_,
    cli_certs.show,
    cli_certs.expiring,
    cli_operators.operator,
    cli_ocsp.ocsp,
    cli_audit.audit,
    cli_deploy.deploy,
):
    cli.add_command(command)
