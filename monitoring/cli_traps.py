"""`jinbao monitor traps`: receive SNMP traps and informs and turn them into the poller's alerts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import click

from jinbao.console import shown
from jinbao.errors import JinbaoError
from jinbao.secrets import resolve

from . import delivery, poller, trapmap
from .notify import Book, extra_senders, listener_options, run_until_stopped, senders_of
from .state import PollState, state_dir, state_file
from .traps import Config, Receiver, Sender, senders


def _v2c_communities(estate, given: tuple[str, ...]) -> list[str]:
    """Communities from the inventory's v2c profiles (when the schema has them) and --community."""
    refs = [p.community for p in estate.snmp_profiles.values() if getattr(p, "community", None) is not None]
    out_ = []
    for r in [*refs, *given]:
        out_.append(resolve(getattr(r, "ref", r)))
    return out_


def _record_line(rec: dict) -> str:
    who = rec.get("device") or "unknown sender"
    if rec["outcome"] == "accepted":
        return f"[green]trap[/] {shown(who)} ({rec['source']}, {rec.get('version')}): {shown(rec.get('trap', '?'))}"
    colour = {"unknown_sender": "yellow", "discovery": "dim"}.get(rec["outcome"], "red")
    return f"[{colour}]{rec['outcome']}[/] {shown(who)} ({rec['source']}): {shown(rec.get('why', ''))}"


@click.command("traps")
@listener_options(1162, "UDP port (162 in production; needs root).")
@click.option(
    "--community",
    "communities",
    multiple=True,
    help="Accept SNMPv2c with this community: a secret reference (env:/file:/vault:).",
)
@click.option(
    "--hold", default=300.0, show_default=True, help="Seconds a restart or authentication-failure alert stays raised."
)
@click.option("--count", type=int, help="Stop after this many datagrams (for tests and one-off checks).")
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object a line on stdout per datagram and per alert event."
)
@click.pass_context
def traps(
    ctx,
    lab_id,
    spec,
    estate,
    listen,
    port,
    netns,
    extra,
    webhook,
    webhook_token,
    syslog,
    communities,
    hold,
    count,
    as_json,
):
    """Receive SNMP traps and informs; raise and clear the same alerts the poller does.

    v3 traps and informs with the USM users of the estate's snmp_profiles; v2c only with a
    community the inventory or --community names. The sender is the device whose management
    address the datagram came from. Every datagram is recorded in traps.jsonl (state folder),
    accepted or refused with why; alerts go to the alert log, the webhook and syslog."""
    source, model, found = senders_of(ctx, lab_id, spec, estate)

    def creds(device: str, t):
        return poller.credentials(model, t) if t is not None else _estate_creds(model, device)

    cfg = Config(listen=listen, port=port, netns=netns or None)
    cfg.senders = senders(model, found, creds)
    for dev, addr in extra_senders(extra, model):
        cfg.senders[addr] = Sender(dev, creds(dev, found.get(dev)))
    cfg.communities = _v2c_communities(model, communities)
    dest = delivery.Targets.from_env(webhook=webhook, webhook_token_ref=webhook_token, syslog=syslog)
    dispatcher = delivery.configure(dest, state_dir() / "alerts-undelivered.jsonl")
    book = Book(state_file(source or f"estate:{model.name}"), state_dir() / "traps.jsonl", "trap", as_json, hold)
    seen = 0
    stop = asyncio.Event()

    def on_record(rec: dict) -> None:
        nonlocal seen
        seen += 1
        at = datetime.now(UTC).isoformat(timespec="seconds")
        vbs = rec.pop("varbinds", None)
        found_changes = None
        if vbs is not None:
            found_changes = trapmap.changes(vbs, {})
            trap = vbs.get(trapmap.SNMP_TRAP_OID)
            rec["trap"] = trapmap.name_of(tuple(trap)) if trap is not None else None
            rec["varbinds"] = {".".join(map(str, o)): v.prettyPrint() for o, v in vbs.items()}
            if found_changes is None:
                rec |= {"outcome": "refused", "why": "a notification without snmpTrapOID.0"}
        book.emit({"at": at, **rec}, _record_line(rec))
        if rec["outcome"] == "accepted" and found_changes:

            def named(st: PollState) -> list[trapmap.Change]:
                # the poller's cached ifIndex -> name table, as it is now
                ifnames = {i: s.get("name", i) for i, s in st.device(rec["device"]).get("if_static", {}).items()}
                return trapmap.changes(vbs or {}, ifnames) or []

            book.apply(rec["device"], named, at)
        if count and seen >= count:
            stop.set()

    async def opened():
        # The engine's transport binds to the running loop: made here, not before asyncio.run.
        receiver = Receiver(cfg, on_record)
        try:
            host, bound = receiver.open()
        except OSError as e:
            raise JinbaoError(f"cannot listen on {listen}:{port}{f' in {netns}' if netns else ''}: {e}") from e
        v2c = f"v2c with {len(cfg.communities)} communit(y/ies)" if cfg.communities else "v2c refused"
        where = f" in {netns}" if netns else ""
        return receiver.close, f"listening on udp {host}:{bound}{where}: {len(cfg.senders)} sender(s), v3, {v2c}"

    run_until_stopped(opened, book, stop, dispatcher)


def _estate_creds(model, device: str):
    """Credentials of a device with no target (the province): keys from env/file/vault refs."""
    d = model.devices[device]
    p = model.snmp_profiles.get(d.snmp_profile)
    if p is None or getattr(p, "version", 3) != 3:
        return None
    from .snmp import Credentials

    return Credentials(p.user, p.auth_protocol, p.priv_protocol, resolve(p.auth_key.ref), resolve(p.priv_key.ref))
