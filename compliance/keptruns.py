"""The runs `audit run` keeps (state folder, compliance/runs/<time>.json), read back strictly.

`audit report` renders one and compares it with the previous run of the same estate and site
scope, the runs ordered by their `at` (file names are only a hint: a copied or hand-named file
sorts anywhere). A kept run that cannot be read is named with why and skipped, never a traceback
and never blamed on another file; the run the report is asked for must read.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from jinbao.errors import JinbaoError
from jinbao.state import state_dir

from .inputs import InputFileError, read_text

STATUSES = ("finding", "conforms", "no_evidence", "not_applicable")
# A run stamped later than this ahead of the clock was not written by `audit run` on this machine.
CLOCK_SLACK = dt.timedelta(days=1)
_JSON_TYPES = {list: "a list", str: "text", int: "a number", float: "a number", bool: "true/false", type(None): "null"}


def runs_dir() -> Path:
    return state_dir("compliance", "runs")


@dataclass(frozen=True)
class KeptRun:
    path: Path
    at: dt.datetime
    body: dict

    @property
    def scope(self) -> tuple[str, str | None]:
        return self.body["estate"], self.body.get("site")


class UnreadableRun(JinbaoError):
    def __init__(self, path: Path, why: str):
        self.path, self.why = path, why
        super().__init__(f"{path}: {why}")


def read(path: Path, now: dt.datetime | None = None) -> KeptRun:
    """The kept run at path; UnreadableRun naming the file and what is wrong with it."""
    try:
        body = json.loads(read_text(path))
    except InputFileError as e:
        raise UnreadableRun(path, f"{e.why} ({e.fix})") from None
    except ValueError as e:
        raise UnreadableRun(path, f"not JSON ({e})") from None
    why = _shape(body)
    if why:
        raise UnreadableRun(path, why)
    try:
        at = dt.datetime.fromisoformat(body["at"])
    except ValueError:
        raise UnreadableRun(path, f"`at` {body['at']!r} is not an ISO time") from None
    if at.tzinfo is None:
        raise UnreadableRun(path, f"`at` {body['at']!r} has no time zone (audit run writes UTC)")
    now = now or dt.datetime.now(dt.UTC)
    if at > now + CLOCK_SLACK:
        raise UnreadableRun(path, f"`at` {body['at']} is in the future")
    return KeptRun(path, at.astimezone(dt.UTC), body)


def _shape(body) -> str | None:
    """Why body is not a run as runner.save writes it, or None."""
    if not isinstance(body, dict):
        return f"expected a JSON object, found {_JSON_TYPES.get(type(body), type(body).__name__)}"
    for key in ("estate", "at", "sources", "verdicts"):
        if key not in body:
            return f"no `{key}`"
    if not isinstance(body["estate"], str) or not isinstance(body["at"], str):
        return "`estate` and `at` must be text"
    if body.get("site") is not None and not isinstance(body["site"], str):
        return "`site` must be text or null"
    if not isinstance(body["sources"], dict) or not all(isinstance(v, str) for v in body["sources"].values()):
        return "`sources` must map each source to text"
    if not isinstance(body["verdicts"], list):
        return "`verdicts` must be a list"
    for i, v in enumerate(body["verdicts"]):
        if not isinstance(v, dict):
            return f"verdict {i} is not an object"
        if not isinstance(v.get("rule"), str) or not isinstance(v.get("subject"), str):
            return f"verdict {i} has no `rule` or `subject` text"
        if v.get("status") not in STATUSES:
            return f"verdict {i} has status {v.get('status')!r}, not one of {', '.join(STATUSES)}"
        findings = v.get("findings", [])
        if not isinstance(findings, list) or not all(
            isinstance(f, dict) and isinstance(f.get("message"), str) for f in findings
        ):
            return f"verdict {i} ({v['rule']}): `findings` must be a list of objects with a `message`"
        for key in ("site", "device_class", "waived_by", "waiver_note", "note"):
            if v.get(key) is not None and not isinstance(v[key], str):
                return f"verdict {i} ({v['rule']}): `{key}` must be text"
    return None


def scan(folder: Path | None = None) -> tuple[list[KeptRun], list[UnreadableRun]]:
    """Every readable kept run, oldest first by `at`, and why for each that is not."""
    runs: list[KeptRun] = []
    bad: list[UnreadableRun] = []
    for path in sorted((folder or runs_dir()).glob("*.json")):
        try:
            runs.append(read(path))
        except UnreadableRun as e:
            bad.append(e)
    runs.sort(key=_order)
    return runs, bad


def _order(r: KeptRun) -> tuple:
    # `at` is kept to the second; two runs within one second are told apart by their file names,
    # which runner.save() writes to the microsecond
    return (r.at, r.path.name)


def previous(run: KeptRun, runs: list[KeptRun]) -> KeptRun | None:
    """The last run before this one of the same estate and site scope (a site's run is not
    compared with the whole estate's, nor one estate with another)."""
    earlier = (r for r in runs if r.scope == run.scope and _order(r) < _order(run))
    return max(earlier, key=_order, default=None)
