"""`jinbao monitor syslog`: receive the devices' syslog and turn known events into the poller's alerts."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime

import click

from jinbao.console import err, shown
from jinbao.errors import JinbaoError
from jinbao.estate import load_estate
from jinbao.target import targets

from . import delivery, syslogmap
from .notify import Book, addresses, serve
from .state import state_dir, state_file
from .syslogparse import Message
from .syslogrecv import Config, Receiver


def _line(rec: dict) -> str:
    who = rec.get("device") or "unknown sender"
    where = f"{shown(who)} ({rec['source']}/{rec['transport']})"
    if rec["outcome"] == "malformed":
        return f"[red]malformed[/] {where}: {shown(rec['why'])}"
    colour = "green" if rec["outcome"] == "accepted" else "yellow"
    event = f" [bold]{rec['event']}[/]" if rec.get("event") else ""
    return f"[{colour}]{rec['severity']}[/]{event} {where} {shown(rec.get('app') or '-')}: {shown(rec['msg'][:300])}"


@click.command("syslog")
@click.option("--lab", "lab_id", help="Senders are the nodes of this lab (the same as --targets lab:ID).")
@click.option("--targets", "spec", help="Where the senders' addresses come from, e.g. lab:jb1a2b.")
@click.option("--estate", help="The estate the senders belong to (default: lab for a lab, else jinbao --estate).")
@click.option("--listen", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=1514, show_default=True, help="UDP (and TCP) port: 514 in production (needs root).")
@click.option("--tcp", is_flag=True, help="Listen on TCP too (RFC 6587: octet-counted or LF-framed).")
@click.option("--netns", help="Listen inside this network namespace (e.g. the lab's monitoring node).")
@click.option(
    "--sender", "extra", multiple=True, help="DEVICE=ADDRESS: this device sends from ADDRESS too (a relay, NAT)."
)
@click.option(
    "--hold", default=300.0, show_default=True, help="Seconds an SSH authentication-failure alert stays raised."
)
@click.option("--webhook", help="POST every alert event as JSON here (also JINBAO_ALERT_WEBHOOK).")
@click.option(
    "--webhook-token", help="Bearer token for the webhook: a secret reference (also JINBAO_ALERT_WEBHOOK_TOKEN)."
)
@click.option(
    "--syslog",
    help="Send every alert event to this RFC 5424 collector, udp://HOST:PORT or tcp://… (also JINBAO_ALERT_SYSLOG).",
)
@click.option("--count", type=int, help="Stop after this many messages (for tests and one-off checks).")
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object a line on stdout per message and per alert event."
)
@click.pass_context
def syslog_cmd(
    ctx, lab_id, spec, estate, listen, port, tcp, netns, extra, hold, webhook, webhook_token, syslog, count, as_json
):
    """Receive syslog (RFC 5424 and RFC 3164) and raise and clear the same alerts as polls and traps.

    The sender is the device whose management address the message came from. Every message is
    recorded in syslog.jsonl (state folder): accepted, from an unknown sender, or malformed and
    why. Known events (monitoring/syslogmap.py: OSPF adjacency changes, interface up/down, failed
    SSH logins) raise and clear alerts in the same table as the poller and `monitor traps`."""
    if lab_id and spec:
        raise click.UsageError("give --lab or --targets, not both")
    source = spec or (f"lab:{lab_id}" if lab_id is not None else None)
    name = estate or (
        "lab" if source and source.startswith("lab:") else str((ctx.find_root().obj or {}).get("estate", "province"))
    )
    model = load_estate(name)
    cfg = Config(listen=listen, port=port, tcp=tcp, netns=netns or None)
    cfg.senders = addresses(model, targets(source) if source else {})
    for pair in extra:
        dev, sep, addr = pair.partition("=")
        if not sep or dev not in model.devices:
            raise JinbaoError(f"--sender {pair!r}: give DEVICE=ADDRESS with a device of estate {model.name}")
        cfg.senders[addr] = dev
    dest = delivery.Targets.from_env(webhook=webhook, webhook_token_ref=webhook_token, syslog=syslog)
    dispatcher = delivery.configure(dest, state_dir() / "alerts-undelivered.jsonl")
    book = Book(state_file(source or f"estate:{model.name}"), state_dir() / "syslog.jsonl", "syslog", as_json, hold)
    seen = 0
    stop = asyncio.Event()

    def on_record(rec: dict) -> None:
        nonlocal seen
        seen += 1
        at = datetime.now(UTC).isoformat(timespec="seconds")
        changes: list = []
        if rec["outcome"] != "malformed":
            fields = {k: rec.get(k) for k in ("protocol", "facility", "severity", "msg", "app")}
            rec["event"], changes = syslogmap.meaning(Message(**fields))  # type: ignore[arg-type]
            if rec["event"] is None:
                del rec["event"]
        book.emit({"at": at, **rec}, _line(rec))
        if rec["outcome"] == "accepted" and changes:
            book.apply(rec["device"], lambda _st: changes, at)
        if count and seen >= count:
            stop.set()

    async def main() -> None:
        receiver = Receiver(cfg, on_record)
        try:
            bound = await receiver.open()
        except OSError as e:
            raise JinbaoError(f"cannot listen on {listen}:{port}{f' in {netns}' if netns else ''}: {e}") from e
        where = f" in {netns}" if netns else ""
        err.print(f"listening on {', '.join(bound)}{where}: {len(cfg.senders)} sender(s)")
        sys.stderr.flush()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await serve(stop, book.expire, min(hold, 5.0))
        finally:
            receiver.close()

    try:
        asyncio.run(main())
    finally:
        if dispatcher is not None:
            dispatcher.flush(15.0)
