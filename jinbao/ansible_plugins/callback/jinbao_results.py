"""Ansible callback: what each task did on each host, for `jinbao provision` to turn into Results.

A notification callback beside the stdout one, enabled only by jinbao's runner (jinbao/provision.py).
It prints one line, `JINBAO-RESULTS {json}`, on stdout at the end of the run instead of writing a
file: the runner reads stdout anyway and redacts it before anything is stored, so the results
never sit on disk unredacted. Per host: the recap counts, the names of tasks that changed (with
their diff in --diff mode), failed (with Ansible's message) or found the host unreachable. Per
task: its wall time from start to the last host, which is where a run's time goes.
"""

from __future__ import annotations

import json
import sys
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
    name: jinbao_results
    type: notification
    short_description: Per-host task outcomes and per-task times as one JSON line, for jinbao provision
    description:
      - Prints C(JINBAO-RESULTS {json}) at the end of the playbook. Enabled by jinbao's runner only.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "jinbao_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.hosts: dict[str, dict] = {}
        self.tasks: list[dict] = []
        self.started = time.monotonic()

    def _host(self, result) -> dict:
        name = result._host.get_name()
        return self.hosts.setdefault(name, {"changed": [], "failed": [], "unreachable": [], "diff": []})

    def _task(self, result) -> str:
        return result._task.get_name().strip()

    def v2_playbook_on_task_start(self, task, is_conditional):
        now = time.monotonic()
        if self.tasks:
            self.tasks[-1]["seconds"] = round(now - self.tasks[-1]["start"], 3)
        self.tasks.append({"task": task.get_name().strip(), "action": task.action, "start": now})

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def _diffs(self, result) -> list[str]:
        if result._task.no_log:
            return []
        r = result._result
        items = r.get("results") if isinstance(r.get("results"), list) else [r]
        return [self._get_diff(i["diff"]) for i in items if isinstance(i, dict) and i.get("diff") and i.get("changed")]

    def v2_runner_on_ok(self, result):
        if result._result.get("changed"):
            h = self._host(result)
            h["changed"].append(self._task(result))
            h["diff"] += [d for d in self._diffs(result) if d]

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if ignore_errors:
            return
        msg = "hidden (no_log)" if result._task.no_log else str(result._result.get("msg") or "").strip()
        self._host(result)["failed"].append(
            {"task": self._task(result), "action": result._task.action, "msg": msg.splitlines()[0][:500] if msg else ""}
        )

    def v2_runner_on_unreachable(self, result):
        msg = str(result._result.get("msg") or "unreachable").strip()
        self._host(result)["unreachable"].append({"task": self._task(result), "msg": msg.splitlines()[-1][:500]})

    def v2_playbook_on_stats(self, stats):
        now = time.monotonic()
        if self.tasks and "seconds" not in self.tasks[-1]:
            self.tasks[-1]["seconds"] = round(now - self.tasks[-1]["start"], 3)
        for host in sorted(stats.processed):
            s = stats.summarize(host)
            self.hosts.setdefault(host, {"changed": [], "failed": [], "unreachable": [], "diff": []})["counts"] = {
                k: s.get(k, 0) for k in ("ok", "changed", "failures", "unreachable", "skipped", "rescued", "ignored")
            }
        for t in self.tasks:
            t.pop("start", None)
        body = {"hosts": self.hosts, "tasks": self.tasks, "seconds": round(now - self.started, 3)}
        sys.stdout.write("\nJINBAO-RESULTS " + json.dumps(body) + "\n")
        sys.stdout.flush()
