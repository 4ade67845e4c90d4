"""The quick way to commit an FRR replace candidate whose diff only adds lines.

`frr-reload.py --reload` is safe for any diff but slow: it reads the running config twice (two
passes), and runs one vtysh process per line it deletes, retried a word shorter each time the
line is refused (`no description <old text>` is refused until it is cut down to `no description`).
On a hub router whose every link gets a new description that was 10-40 s of the node's CPU on
the 61-node bench.

So when the diff frr-reload already printed for the plan only adds lines (a `no description …`
replaced by a `description …` of the same interface counts as an add: FRR's description is one
value, which the new line replaces), those lines go to the node in one `vtysh -f`, and
frr-reload's own `--test` then checks that the running config is the candidate. If anything is
left over, or any step fails, the config saved before the commit is put back and frr-reload
applies the whole candidate from there, so the result is what frr-reload alone gives. Any other delete
(a route, a neighbour, an OSPF setting) always goes through frr-reload.
Nothing else changes: the running config is saved for the revert timer first, and the timer and
`rollback()` restore it with frr-reload.
"""

from __future__ import annotations

import re

# frr-reload logs to stdout with --stdout; these are its log lines, not its diff.
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|^vtysh_pam:")

# What frr-reload --test prints that is not a difference (see frr.reload_diff).
NOT_A_DIFF = (
    r"^\s*$|^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}|^vtysh_pam:"
    r"|^(ip forwarding|banner motd line .*)$|^Lines To|^====="
)


def entries(report: str) -> tuple[list[list[str]], list[list[str]]]:
    """(deletes, adds) of a frr-reload --test report: each entry is its context lines, then its
    line (frr-reload's lines_to_config: a new entry starts at indent 0)."""
    dels: list[list[str]] = []
    adds: list[list[str]] = []
    cur: list[list[str]] | None = None
    for line in report.splitlines():
        if not line.strip() or LOG_LINE.match(line) or line.startswith("====="):
            continue
        if line.startswith("Lines To Delete"):
            cur = dels
        elif line.startswith("Lines To Add"):
            cur = adds
        elif cur is not None:
            if line.startswith(" ") and cur:
                cur[-1].append(line)
            else:
                cur.append([line])
    return dels, adds


def _key(entry: list[str]) -> tuple[tuple[str, ...], str]:
    return tuple(entry[:-1]), entry[-1].strip().removeprefix("no ").split(" ", 1)[0]


def only_adds(report: str) -> str | None:
    """The lines for `vtysh -f` when the report only adds (see the module's docstring), else None."""
    dels, adds = entries(report)
    if not adds:
        return None
    replaced = {_key(e) for e in adds if e[-1].strip().startswith("description ")}
    for e in dels:
        if not (e[-1].strip().startswith("no description") and _key(e) in replaced):
            return None
    return "".join(f"{line}\n" for e in adds for line in e)


def fast_apply(reload: str, candidate: str, adds: str, restore: str) -> str:
    """The shell that applies adds and proves the node now runs candidate; else it puts back the
    config saved before the commit (restore) and has frr-reload apply candidate from there, so
    the result is the one frr-reload alone would have given (a candidate that sets one value
    twice, say two descriptions of one interface, ends as frr-reload's two passes leave it)."""
    left = f"{reload} --test {candidate} 2>&1 | grep -vE {_quote(NOT_A_DIFF)} | grep -q ."
    fallback = f"echo 'a difference was left: frr-reload applies it all'; {restore} && {reload} --reload {candidate}"
    # One group, so the caller's `if ! … > apply.log` applies to all of it.
    return (
        f"{{ {{ vtysh -f {adds} && vtysh -c 'write memory' >/dev/null && ! {{ {left}; }}; }} || {{ {fallback}; }}; }}"
    )


def _quote(s: str) -> str:
    return "'" + s.replace("'", "'\"'\"'") + "'"
