"""`jinbao config rollback [--change ID]`: put back the configs a recorded change replaced.

What comes back is each device's running config from just before that change committed on it
(the change log's `before` events: redacted, secrets as `<secret REF>` markers that are resolved
again on the way in). A rollback is a change like any other: planned (what it would change on
each device now), asked, recorded under its own id (`kind: rollback, of: ID`), committed in
waves with revert timers and state checks, so a rollback that breaks routing reverts itself,
and a rollback can itself be rolled back.

Only devices the change committed on are touched; a device already back on its old config plans
as unchanged. A device whose recorded config held a secret jinbao has no reference for
(`<redacted>`) is refused rather than given a config with the secret missing.
"""

from __future__ import annotations

import click

from jinbao.errors import JinbaoError
from jinbao.target import estate_for, source_of

from . import changelog
from .apply import Options
from .cli_apply import Change, carry_out, change_options


@click.command()
@click.option("--change", "change_id", help="The change to undo (default: the latest finished one of these devices).")
@change_options
@click.pass_context
def rollback(ctx, change_id, lab_id, spec, estate, sites, devices, roles, workers, yes, concurrency, revert_in,
             check_timeout, rollback_wave, confirm_estate, as_json):  # fmt: skip
    """Restore the configs a recorded change replaced, checked like an apply.

    \b
    jinbao config rollback --lab jb1a2b                       # the latest change
    jinbao config rollback --lab jb1a2b --change 20261130T101500Z-3fa2c1 --device prov-wan1
    """
    source = source_of(lab_id, spec) or "lab:"
    try:
        rec = changelog.change(change_id, source)
    except KeyError as e:
        raise click.UsageError(f"{e.args[0]}; `jinbao config changes` lists them") from None
    if rec.get("source") != source:
        raise click.UsageError(f"change {rec['id']} was made on {rec.get('source')}, not {source}")
    before: dict[str, str] = rec["before"]
    if not before:
        raise click.UsageError(f"change {rec['id']} committed on no device: nothing to roll back")
    unknown = sorted(h for h, text in before.items() if "<redacted>" in text)
    if unknown:
        raise JinbaoError(
            f"the configs change {rec['id']} replaced on {', '.join(unknown)} held secrets jinbao has no reference "
            "for (recorded as <redacted>); restore them by hand from the backup, or leave them out with --device"
        )
    opts = Options(revert_in=revert_in, concurrency=concurrency, rollback_wave=rollback_wave, check_s=check_timeout)
    c = Change(source, estate_for(ctx, source, estate), sites, devices, roles, workers, yes, as_json, opts,
               confirm_estate, kind="rollback", of=str(rec["id"]))  # fmt: skip
    carry_out(c, wanted=lambda hosts: {h: before[h] for h in hosts if h in before}, only=set(before))
