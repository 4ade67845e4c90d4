"""Back to the starting state, whatever step a drill stopped at: the inventory's roles (primary
primary, standby streaming from it), synchronous again if the pair is, the service address on
the primary's side. It reads what is, then does only what is missing, with the same operations
the drill steps use; so it is also what a failback does."""

from __future__ import annotations

from .remote import DrError, Pair, wait_for


def restore(pair: Pair, say=print) -> list[str]:
    did: list[str] = []
    p_role, s_role = pair.role("primary"), pair.role("standby")
    say(f"restore: primary side is {p_role or 'down'}, standby side is {s_role or 'down'}")
    if s_role == "primary":
        # DR holds the primary role: the province must follow it first, then switch back.
        if p_role is not None:
            pair.stop("primary", "fast")
        did.append(
            f"{pair.side('primary')['node']} rebuilt as standby of DR by " + pair.make_standby("primary", "standby")
        )
        pair.stop("standby", "fast")
        lsn = pair.checkpoint_lsn("standby")
        wait_for(f"{pair.side('primary')['node']} to replay {lsn}", lambda: pair.replayed_past("primary", lsn), 60)
        pair.promote("primary")
        did.append(f"{pair.side('primary')['node']} promoted")
        s_role, p_role = None, "primary"
    if p_role is None:
        pair.start("primary")
        wait_for(f"{pair.side('primary')['node']} to accept writes", lambda: pair.role("primary") == "primary", 60)
        did.append(f"{pair.side('primary')['node']} started")
    if pair.role("primary") != "primary":
        raise DrError(f"restore: {pair.side('primary')['node']} is not primary after restore")
    if s_role == "standby":  # a standby reconnects by itself within wal_retrieve_retry_interval
        try:
            wait_for("the standby to stream again", lambda: pair.streaming("primary", "standby"), 10)
        except DrError:
            s_role = None
    if s_role is None or not pair.streaming("primary", "standby"):
        if not pair.stopped("standby"):
            pair.stop("standby", "fast")
        did.append(f"{pair.side('standby')['node']} rebuilt as standby by " + pair.make_standby("standby", "primary"))
    elif pair.facts["replication"] == "sync":
        pair.psql("primary", f"alter system set synchronous_standby_names = '\"{pair.app_name('standby')}\"'")
        pair.psql("primary", "select pg_reload_conf()")
    # a drill stopped after a freeze step: the primary takes writes again (a no-op otherwise)
    if pair.psql("primary", "show default_transaction_read_only") == "on":
        pair.psql("primary", "alter system reset default_transaction_read_only")
        pair.psql("primary", "select pg_reload_conf()")
        did.append(f"{pair.side('primary')['node']} thawed")
    m = pair.facts["metrics"]
    if pair.advertised("primary") != m["primary"] or pair.advertised("standby") != m["standby"]:
        pair.route_to("primary")
        did.append("service address back on the primary's side")
    for d in did:
        say(f"restore: {d}")
    return did
