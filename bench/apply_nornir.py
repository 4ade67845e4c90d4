"""Nornir's part of bench/apply_bench.py, run in its own process with Nornir on PYTHONPATH (a scratch
folder: Nornir is not one of jinbao's dependencies).

Usage: python bench/apply_nornir.py JOB.json   (JOB: workers, and per host its connection and config)

Each host gets nornir_napalm's napalm_configure: NAPALM's merge (load_merge_candidate,
compare_config, commit_config) through napalm.get_network_driver("frr"), which is jinbao's FRR
driver. Nornir's threaded runner runs `workers` hosts at once. Exit 1 if any host failed.
"""

from __future__ import annotations

import json
import sys

from nornir.core import Nornir
from nornir.core.inventory import ConnectionOptions, Defaults, Groups, Host, Hosts, Inventory
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.core.task import Result, Task
from nornir.plugins.runners import ThreadedRunner
from nornir_napalm.plugins.connections import Napalm
from nornir_napalm.plugins.tasks import napalm_configure


def push(task: Task) -> Result:
    return task.run(task=napalm_configure, configuration=task.host["config"], replace=False).result


def main() -> None:
    with open(sys.argv[1]) as f:
        job = json.load(f)
    ConnectionPluginRegister.register("napalm", Napalm)  # a --target install may not expose its entry point
    hosts = Hosts(
        {
            name: Host(
                name=name,
                hostname=h["hostname"],
                username=h["username"],
                platform=h["platform"],
                data={"config": h["config"]},
                connection_options={"napalm": ConnectionOptions(extras={"optional_args": h["optional_args"]})},
            )
            for name, h in job["hosts"].items()
        }
    )
    nr = Nornir(inventory=Inventory(hosts=hosts, groups=Groups(), defaults=Defaults()),
                runner=ThreadedRunner(num_workers=job["workers"]))  # fmt: skip
    try:
        results = nr.run(task=push)
    finally:
        nr.close_connections()
    failed = {h: str(r.exception or r[0].result)[-300:] for h, r in results.items() if r.failed}
    if failed or len(results) != len(job["hosts"]):
        print(json.dumps(failed, indent=1))
        sys.exit(1)


if __name__ == "__main__":
    main()
