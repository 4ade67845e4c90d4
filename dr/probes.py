"""The drill's side of the canary and the witness: each a process inside a lab node (started with
`jinbao lab exec`), whose JSON events are collected here as they arrive."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

from .remote import JINBAO, DrError


class NodeProcess:
    def __init__(self, lab_id: str, node: str, args: list[str]):
        self.node, self.args = node, args
        self.events: list[dict] = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [*JINBAO, "lab", "exec", "--id", lab_id, node, "--", sys.executable, "-m", "dr.canary", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                self.events.append(ev)

    def seen(self, kind: str | None = None, after: float = 0.0) -> list[dict]:
        with self._lock:
            return [e for e in self.events if (kind is None or e["ev"] == kind) and e["t"] >= after]

    def wait(self, what: str, check, timeout: float) -> dict:
        """The first event for which check(event) holds, polling what has arrived."""
        deadline = time.time() + timeout
        while True:
            with self._lock:
                hit = next((e for e in self.events if check(e)), None)
            if hit:
                return hit
            if self.proc.poll() is not None:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise DrError(f"the {self.args[0]} process on {self.node} ended: {err.strip()[-400:]}")
            if time.time() > deadline:
                raise DrError(f"timed out after {timeout:g} s waiting for {what}")
            time.sleep(0.02)

    def stop(self, timeout: float = 15) -> list[dict]:
        """Close its stdin (it ends itself), wait for its last events, and return all of them."""
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin
                self.proc.stdin.close()
                self.proc.wait(timeout=timeout)
            except (subprocess.TimeoutExpired, BrokenPipeError):
                self.proc.kill()  # the `jinbao lab exec` we started, by its own handle
                self.proc.wait()
        self._reader.join(timeout=5)
        with self._lock:
            return list(self.events)
