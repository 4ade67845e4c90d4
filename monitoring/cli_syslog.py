"""`jinbao monitor syslog`: receive the devices' syslog and turn known events into the poller's alerts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import click

from jinbao.console import shown
from jinbao.errors import JinbaoError

from . import delivery, syslogmap
from .notify import Book, addresses, extra_senders, listener_options, run_until_stopped, senders_of
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
@listener_options(1514, "UDP (and TCP) port: 514 in production (needs root).")
@click.option("--tcp", is_flag=True, help="Listen on TCP too (RFC 6587: octet-counted or LF-framed).")
@click.option(
    "--hold", default=300.0, show_default=True, help="Seconds an SSH authentication-failure alert stays raised."
)
@click.option("--count", type=int, help="Stop after this many messages (for tests and one-off checks).")
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object a line on stdout per message and per alert event."
)
@click.pass_context
def syslog_cmd(
    ctx, lab_id, spec, estate, listen, port, netns, extra, webhook, webhook_token, syslog, tcp, hold, count, as_json
):
    """Receive syslog (RFC 5424 and RFC 3164) and raise and clear the same alerts as polls and traps.

    The sender is the device whose management address the message came from. Every message is
    recorded in syslog.jsonl (state folder): accepted, from an unknown sender, or malformed and
    why. Known events (monitoring/syslogmap.py: OSPF adjacency changes, interface up/down, failed
    SSH logins) raise and clear alerts in the same table as the poller and `monitor traps`."""
    source, model, found = senders_of(ctx, lab_id, spec, estate)
    cfg = Config(listen=listen, port=port, tcp=tcp, netns=netns or None)
    cfg.senders = addresses(model, found)
    for dev, addr in extra_senders(extra, model):
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

    async def opened():
        receiver = Receiver(cfg, on_record)
        try:
            bound = await receiver.open()
        except OSError as e:
            raise JinbaoError(f"cannot listen on {listen}:{port}{f' in {netns}' if netns else ''}: {e}") from e
        where = f" in {netns}" if netns else ""
        return receiver.close, f"listening on {', '.join(bound)}{where}: {len(cfg.senders)} sender(s)"

    run_until_stopped(opened, book, stop, dispatcher)
