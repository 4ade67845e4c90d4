"""A recorded CLI session in place of netmiko: the vendor drivers' transport in the conformance suite.

VRP, Comware and IOS cannot run here, so their drivers are exercised against dialogues written
down as a terminal shows them, prompt and all:

    [~chuzhou-wan1]commit trial 60
    Info: The system enters the trial configuration mode. ...
    [~chuzhou-wan1]return

A line that starts with the platform's prompt (or a `[Y/N]:` question) is what was typed; the lines
under it, up to the next prompt, are what the device printed. Lines starting `%%` are notes and
directives: `%% output FILE` (the output is that file's text), `%% running FILE` (from this step
on, the device's running config is that file), `%% put NAME` (a file copied to flash).

Two files per session, under `tests/netconfig/recordings/<platform>/sessions/`:
- `reads.txt`: read-only commands, answered in any order, as often as asked. The one marked
  `%% state` is the running config, whose answer is the device's current state.
- `<scenario>.txt`: the lifecycle dialogue, replayed strictly in order. A command the driver sends
  that is neither the next step nor a read fails the test (ReplayMismatch), as does a step never
  reached, so a dialogue proves which commands a driver sends, in which order, and nothing else.

Why a fake connection and not a fake SSH server serving the same text to real netmiko: netmiko's
prompt handling for these platforms is netmiko's (and tested there); what jinbao must prove is its
own command sequence and its reading of the output, which this checks without a socket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# What a typed line starts with: the platform's prompt (its driver's PROMPT), or a question.
QUESTION = r".*\[(?:Y/N|y/n)\]:\s?"


class ReplayMismatch(AssertionError):
    """The driver sent something the recorded dialogue does not have at this point."""


@dataclass
class Step:
    prompt: str
    command: str
    output: str = ""
    running: str | None = None  # the running config from this step on
    put: str | None = None  # a file copy instead of a command
    next_prompt: str = ""  # what the device shows after the output (checked against `expect`)


@dataclass
class Dialogue:
    steps: list[Step] = field(default_factory=list)
    state_command: str | None = None


def load(path: Path, prompt: str) -> Dialogue:
    """Read a dialogue file whose typed lines start with `prompt`; FILE references are relative to it."""
    typed = re.compile(rf"^({prompt}|{QUESTION})(.*)$")
    d = Dialogue()
    out: list[str] = []

    def flush() -> None:
        if d.steps and not d.steps[-1].output:
            d.steps[-1].output = "\n".join(out).strip("\n")
        out.clear()

    for line in path.read_text().splitlines():
        if line.startswith("%%"):
            word, _, arg = line[2:].strip().partition(" ")
            if word == "output":
                d.steps[-1].output = (path.parent / arg).read_text()
            elif word == "running":
                d.steps[-1].running = (path.parent / arg).read_text()
            elif word == "state":
                d.state_command = d.steps[-1].command
            elif word == "put":
                flush()
                d.steps.append(Step("", "", put=arg))
            continue  # anything else after %% is a note for the reader
        m = typed.match(line)
        if m:
            flush()
            if d.steps:
                d.steps[-1].next_prompt = m[1]
            d.steps.append(Step(m[1], m[2]))
        else:
            out.append(line)
    flush()
    if d.steps and not d.steps[-1].command and d.steps[-1].put is None:
        d.steps.pop()  # the closing prompt: only there to show what the device shows last
    return d


class Replay:
    """A Transport (netconfig.drivers.cli) that answers from recorded dialogues."""

    def __init__(self, platform: str, prompt: str, sessions: Path, scenario: str | None = None):
        self.platform = platform
        reads = load(sessions / "reads.txt", prompt)
        self._reads = {s.command: s for s in reads.steps}
        self._state_command = reads.state_command
        self.running = self._reads[self._state_command].output if self._state_command else ""
        self._script = load(sessions / f"{scenario}.txt", prompt).steps if scenario else []
        self._at = 0
        self.sent: list[str] = []  # every line the driver sent, in order
        self.files: dict[str, str] = {}

    def _next(self) -> Step | None:
        return self._script[self._at] if self._at < len(self._script) else None

    def send(self, command: str, expect: str | None = None, timeout: float = 30.0) -> str:
        self.sent.append(command)
        step = self._next()
        if step is not None and step.put is None and step.command == command:
            self._at += 1
            if expect and not re.search(expect, step.next_prompt):
                raise ReplayMismatch(
                    f"{command!r}: the driver waits for {expect!r}, the device shows {step.next_prompt!r}"
                )
            if step.running is not None:
                self.running = step.running
            return step.output
        if command in self._reads:
            return self.running if command == self._state_command else self._reads[command].output
        want = (
            f"{step.prompt}{step.command}" if step and step.put is None else (f"put {step.put}" if step else "nothing")
        )
        raise ReplayMismatch(f"{self.platform}: the driver sent {command!r}; the recorded dialogue has {want!r}")

    def put_file(self, name: str, text: str) -> None:
        step = self._next()
        if step is None or step.put != name:
            raise ReplayMismatch(f"{self.platform}: the driver copied {name!r}; the dialogue has {step}")
        self._at += 1
        self.files[name] = text
        self.sent.append(f"put {name}")

    def close(self) -> None:
        pass  # the replay outlives a driver's session: the next session logs in to the same device

    def finished(self) -> None:
        """Every recorded step was reached: nothing the dialogue expects was skipped."""
        if self._at != len(self._script):
            rest = [f"{s.prompt}{s.command}" if s.put is None else f"put {s.put}" for s in self._script[self._at :]]
            raise ReplayMismatch(f"{self.platform}: the driver stopped before {rest[:3]}")
