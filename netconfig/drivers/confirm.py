"""The config lifecycle for devices with a shell (FRR, nftables), with the revert timer ON the device.

Why on the device: the change most likely to need a revert is the one that cuts jinbao off from
the device (a WAN link, a management ACL). A timer in jinbao's process dies with the session it
was protecting. So `commit_config(revert_in=N)`:

1. saves the running config to `~/.jinbao/rollback.conf` on the device;
2. applies the candidate (if that fails, restores rollback.conf at once);
3. starts a detached process on the device (`nohup setsid sh -c ...`, its own session, stdin and
   stdout closed, so neither the SSH session's end nor its SIGHUP touches it) that sleeps N
   seconds and then applies rollback.conf. Its PID sits in `~/.jinbao/pending`.

`confirm_commit()` stops it. Timer and confirm race only for the `pending` file: each *renames*
it first, and rename is atomic, so exactly one of them wins: a confirm that loses says so
(CommitFailed: the device is reverting), never silently half-kills a revert in progress.

A platform supplies four shell commands: SAVE (print the running config in a form APPLY
restores), APPLY, MERGE and CHECK (each with {file}), and its own compare.
"""

from __future__ import annotations

import re
from secrets import token_hex

from jinbao.redact import redact
from jinbao.secrets import marker as secret_marker
from jinbao.secrets import resolve_secrets
from jinbao.target import Target

from .base import CandidateInvalid, CommitFailed, DriverError
from .ssh import Shell, q

# umask 077: rollback.conf holds the device's secrets as the device has them.
STATE = 'umask 077 && mkdir -p "$HOME/.jinbao" && cd "$HOME/.jinbao"'
# Sessions of one device (two operators, two jinbao runs) take turns on commit, confirm and
# rollback: each saves, applies and times against the same rollback.conf and pending files.
LOCK = 'exec 9>lock && flock -w 60 9 || { echo "another session holds this device\'s config lock" >&2; exit 7; }'
# Kill the timer's whole process group (sh and its sleep): setsid made its PID the group's id.
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CANCEL = 'kill -TERM -- -"$(cat {f})" 2>/dev/null; rm -f {f}'


class ShellLifecycle:
    """ConfigLifecycle over a Shell. Subclasses set SAVE, APPLY, MERGE, CHECK and compare_config."""

    sh: Shell
    name: str
    target: Target
    PRELUDE = ""  # e.g. a PATH for the platform's tools
    SAVE = ""
    APPLY = ""
    MERGE = ""
    CHECK = ""
    MERGE_CHECK = ""

    _candidate: str | None = None
    _mode: str = "replace"  # or "merge"
    _candidate_name: str | None = None

    @property
    def candidate_file(self) -> str:
        """This session's candidate on the device: its own file, so two sessions of one device
        never load, compare or commit each other's candidate."""
        if self._candidate_name is None:
            self._candidate_name = f"candidate.{token_hex(6)}.conf"
        return self._candidate_name

    def _script(self, body: str) -> str:
        return f"{self.PRELUDE}{STATE} || exit 9\n{body}"

    def _load(self, config: str | None, filename: str | None, mode: str) -> None:
        if config is None:
            if filename is None:
                raise DriverError(f"{self.name}: give config= or filename=")
            with open(filename) as f:
                config = f.read()
        # A rendered config carries secrets as references; they become values only here, on the
        # way into the device, and every value is remembered so diffs can show the reference.
        config = resolve_secrets(config, self._secret)
        config = self._prepare(config, mode)
        check = (self.MERGE_CHECK or self.CHECK) if mode == "merge" else self.CHECK
        f = self.candidate_file
        r = self.sh.run(self._script(f"cat > {f} && {check.format(file=f)}"), stdin=config)
        if r.rc != 0:
            self.sh.run(self._script(f"rm -f {f} {f}.*"))
            self._candidate = None  # the device holds none now; a commit must not act as if it did
            why = self.shown((r.err or r.out).strip()[-800:])
            raise CandidateInvalid(f"{self.name}: the device refused the candidate: {why}")
        self._candidate, self._mode = config, mode

    def _secret(self, ref: str) -> str:
        value = self.target.secret(ref)
        self._shown_as = {**getattr(self, "_shown_as", {}), value: secret_marker(ref)}
        return value

    def masked(self, text: str) -> str:
        """text with every secret this session sent replaced by its reference, and every secret
        the device's own syntax reveals (an old key in a diff) redacted: for diffs, errors, logs."""
        for value, marker in sorted(getattr(self, "_shown_as", {}).items(), key=lambda kv: -len(kv[0])):
            # whole tokens only: a short key must not garble (and so reveal itself in) other words
            text = re.sub(rf"(?<!\S){re.escape(value)}(?!\S)", marker, text)
        return redact(text)

    def shown(self, device_output: str) -> str:
        """Device output fit for an error message: secrets masked, terminal colours removed."""
        return self.masked(ANSI.sub("", device_output))

    def _prepare(self, config: str, mode: str) -> str:
        """Hook: a platform may frame its candidate (nftables prepends `flush ruleset`)."""
        return config

    def load_replace_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        self._load(config, filename, "replace")

    def load_merge_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        self._load(config, filename, "merge")

    def discard_config(self) -> None:
        if self._candidate is not None:
            self._candidate = None
            self.sh.run(self._script(f"rm -f {self.candidate_file} {self.candidate_file}.*"))

    def _apply(self, file: str) -> str:
        return (self.MERGE if self._mode == "merge" else self.APPLY).format(file=file)

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        if self._candidate is None:
            raise CommitFailed(f"{self.name}: no candidate loaded")
        if revert_in is not None and revert_in < 1:
            raise CommitFailed(f"{self.name}: revert_in must be at least 1 second")
        timer = ""
        if revert_in:
            apply_prev = self.APPLY.format(file="rollback.conf")
            revert = (
                "echo $$ > pending.new && mv pending.new pending\n"
                f"sleep {int(revert_in)}\n"
                f"{LOCK}\n"
                "mv pending reverting 2>/dev/null || exit 0\n"
                f"date >> revert.log; {apply_prev} >> revert.log 2>&1; rm -f reverting"
            )
            # Wait for the timer to record itself, so has_pending_commit() is true when we return.
            timer = (
                # 9>&-: the timer must not hold the config lock this commit holds while it sleeps.
                f"nohup setsid sh -c {q(self.PRELUDE + revert)} </dev/null >/dev/null 2>&1 9>&- &\n"
                "i=0; while [ ! -f pending ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done\n"
                '[ -f pending ] || { echo "the revert timer did not start" >&2; exit 5; }'
            )
        restore = self.APPLY.format(file="rollback.conf")
        cand = self.candidate_file
        body = f"""
{LOCK}
if [ -f pending ] && kill -0 "$(cat pending)" 2>/dev/null; then
  echo "a commit awaits confirmation: confirm or roll it back first" >&2; exit 3; fi
if [ -f reverting ]; then echo "the device is reverting a commit right now" >&2; exit 3; fi
rm -f pending
{{ {self.SAVE}; }} > rollback.new || {{ echo "could not save the running config" >&2; exit 4; }}
mv rollback.new rollback.conf
if ! {self._apply(cand)} > apply.log 2>&1; then
  {restore} > restore.log 2>&1 && echo "restored the previous config" >&2
  tail -20 apply.log >&2; exit 6; fi
rm -f {cand} {cand}.*
{timer}
"""
        r = self.sh.run(self._script(body), timeout=120)
        if r.rc != 0:
            raise CommitFailed(f"{self.name}: commit failed: {self.shown((r.err or r.out).strip()[-800:])}")
        self._candidate = None

    def confirm_commit(self) -> None:
        body = (
            f"{LOCK}\n"
            "mv pending confirming 2>/dev/null || { if [ -f reverting ]; then "
            'echo "too late: its timer fired and the device is reverting" >&2; '
            'elif [ -s revert.log ]; then echo "no commit awaits confirmation (the last one was reverted by '
            'its timer: see ~/.jinbao/revert.log on the device)" >&2; else '
            'echo "no commit awaits confirmation" >&2; fi; exit 3; }\n' + CANCEL.format(f="confirming")
        )
        r = self.sh.run(self._script(body))
        if r.rc != 0:
            raise CommitFailed(f"{self.name}: confirm failed: {r.err.strip()}")

    def has_pending_commit(self) -> bool:
        r = self.sh.run(self._script('[ -f pending ] && kill -0 "$(cat pending)" 2>/dev/null'))
        return r.rc == 0

    def rollback(self) -> None:
        body = (
            f"{LOCK}\n"
            '[ -f rollback.conf ] || { echo "no earlier commit to roll back to" >&2; exit 3; }\n'
            "if mv pending cancelling 2>/dev/null; then " + CANCEL.format(f="cancelling") + "; fi\n"
            f"{self.APPLY.format(file='rollback.conf')} > rollback.log 2>&1 || {{ tail -20 rollback.log >&2; exit 6; }}"
        )
        r = self.sh.run(self._script(body), timeout=120)
        if r.rc != 0:
            raise CommitFailed(f"{self.name}: rollback failed: {self.shown(r.err.strip()[-800:])}")
