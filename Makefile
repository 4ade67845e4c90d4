# jinbao: two commands for people, `make demo` and `make test`. Each does its own setup on a
# fresh Debian 12 machine as root, idempotently: apt packages only when missing, a venv, and
# `pip install -e .`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
JINBAO := $(VENV)/bin/jinbao
# Everything the lab and the tests run for real. prometheus: its promtool checks /metrics (Debian
# ships promtool only inside the server's package). sudo: Ansible's become on the lab's servers.
# weasyprint: `jinbao audit report` writes its PDF with it; poppler-utils: the test that turns a page to PNG.
APT_PACKAGES := python3-venv graphviz fonts-wqy-microhei openssl iproute2 iputils-ping nftables \
	frr frr-snmp snmpd snmp openssh-server openssh-client keepalived postgresql libcap2-bin prometheus \
	sudo ca-certificates python3-apt weasyprint poppler-utils

# Packages the baseline roles install on lab server nodes (rsyslog, auditd, pam_pwquality). Lab
# nodes have no route to a mirror, so `make apt` only downloads them into apt's cache (the
# machine installs nothing); a node's `apt-get install` then takes them from there.
NODE_APT_PACKAGES := rsyslog auditd libpam-pwquality

# Only the benchmarks need these (ApacheBench drives both OCSP responders).
BENCH_APT_PACKAGES := apache2-utils prometheus-snmp-exporter

.PHONY: setup apt venv demo demo-down test lint bench bench-inventory bench-lab bench-pki bench-netconfig bench-apply bench-dr bench-monitoring bench-provision bench-compliance clean

setup: apt venv

apt:
	@missing=$$(for p in $(APT_PACKAGES) $(EXTRA_APT); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing $$(echo $$missing)"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	else echo "apt: all packages present"; fi
	@DEBIAN_FRONTEND=noninteractive apt-get install -q -y --download-only $(NODE_APT_PACKAGES) >/dev/null || \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -q -y --download-only $(NODE_APT_PACKAGES); }

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test,lint,plot]'
	touch $@

# The demo lab keeps a fixed id so `make demo` twice reuses one lab and `make demo-down` finds it.
DEMO_LAB := jbdemo

demo: setup
	$(JINBAO) inventory validate
	$(JINBAO) inventory show --site chuzhou
	$(JINBAO) inventory graph --out out
	@echo "The province's topology is in out/province-topology.svg (and .png)."
	@if $(JINBAO) lab status --id $(DEMO_LAB) >/dev/null 2>&1; then echo "lab $(DEMO_LAB) is already up"; \
	 else $(JINBAO) lab down --id $(DEMO_LAB) >/dev/null 2>&1 || true; $(JINBAO) lab up --id $(DEMO_LAB); fi
	$(JINBAO) lab status --id $(DEMO_LAB)
	@echo
	@echo "== netconfig: every device's intended config, rendered from the inventory and checked =="
	$(JINBAO) config render --out out/config
	$(JINBAO) --estate lab config render --out out/config-lab
	@echo "-- prov-wan1's intended FRR config (out/config-lab/prov-wan1.frr.conf), secrets as references:"
	@sed -n '1,30p' out/config-lab/prov-wan1.frr.conf
	@echo "-- and what the lab's routers run, read live through the drivers:"
	$(JINBAO) config get --lab $(DEMO_LAB) --all ospf
	@echo
	@echo "== netconfig: a change to the intent, planned, applied in checked waves, then rolled back =="
	rm -rf out/demo-estate && cp -r inventory/lab out/demo-estate
	sed -i 's/type: dr,/type: dr, cost: 40,/' out/demo-estate/links.yml
	$(JINBAO) config plan --lab $(DEMO_LAB) --estate out/demo-estate
	$(JINBAO) config apply --lab $(DEMO_LAB) --estate out/demo-estate --yes
	$(JINBAO) config drift --lab $(DEMO_LAB) --estate out/demo-estate
	$(JINBAO) config rollback --lab $(DEMO_LAB) --yes
	$(JINBAO) config changes --lab $(DEMO_LAB) --last 2
	@echo
	@echo "== monitoring: every node polled over SNMPv3 authPriv; a WAN link taken down, seen, and restored =="
	$(JINBAO) monitor poll --lab $(DEMO_LAB)
	$(JINBAO) lab link down --id $(DEMO_LAB) prov-wan1 chuzhou-wan1
	@# net-snmp re-reads its interface table every few seconds: poll until it tells (at most 30 s)
	@for i in $$(seq 30); do $(JINBAO) monitor poll --lab $(DEMO_LAB) >/dev/null 2>&1; \
	  $(JINBAO) monitor status --lab $(DEMO_LAB) >/dev/null 2>&1 || break; sleep 1; done
	-$(JINBAO) monitor status --lab $(DEMO_LAB)
	$(JINBAO) lab link up --id $(DEMO_LAB) prov-wan1 chuzhou-wan1
	@for i in $$(seq 30); do $(JINBAO) monitor poll --lab $(DEMO_LAB) >/dev/null 2>&1; \
	  $(JINBAO) monitor status --lab $(DEMO_LAB) >/dev/null 2>&1 && break; sleep 1; done
	$(JINBAO) monitor status --lab $(DEMO_LAB)
	@echo
	@echo "== dr: a planned switchover drill, measured (RTO, RPO) and reported =="
	$(JINBAO) --estate lab dr plan switchover
	$(JINBAO) dr run switchover --lab $(DEMO_LAB)
	$(JINBAO) dr report --participant "$${SUDO_USER:-$$USER} (make demo)"
	@echo
	@echo "== provisioning: the lab's servers hardened with Ansible (each node has its own root), then verified by testinfra =="
	$(JINBAO) provision --lab $(DEMO_LAB) --playbook harden
	$(JINBAO) verify --lab $(DEMO_LAB) --playbook harden
	@echo
	@echo "== compliance: MLPS 2.0 level 3 evidence from the inventory, the lab's configs, DR and monitoring =="
	-$(JINBAO) audit run --lab $(DEMO_LAB)
	$(JINBAO) audit report
	@echo
	@echo "The lab is running. Try:"
	@echo "  $(JINBAO) lab exec --id $(DEMO_LAB) chuzhou-wan1 vtysh -c 'show ip ospf neighbor'"
	@echo "  $(JINBAO) lab ssh --id $(DEMO_LAB) prov-db1 hostname"
	@echo "  $(JINBAO) lab link down --id $(DEMO_LAB) prov-wan1 chuzhou-wan1   # then: lab status, lab link up ..."
	@echo "Take it down with: make demo-down"

demo-down: venv
	$(JINBAO) lab down --id $(DEMO_LAB)

# Three workers: the suite mostly waits on labs (two kept the 2 cores 37 % busy); a worker takes
# whole groups of tests that share a lab (tests/support/groups.py). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 3
test: setup
	$(PY) -m pytest -q --durations=25 $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder)

# ruff (lint and format) on everything, mypy on the core (its config is in pyproject.toml).
# ansible.cfg makes an inventory that does not parse an error (a broken estate must not look like
# an empty one); ansible-lint's syntax check runs the playbooks with no inventory at all.
# ansible-lint joins when roles/ has roles.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	ANSIBLE_HOME=$(CURDIR)/.ansible ANSIBLE_INVENTORY_UNPARSED_FAILED=False $(VENV)/bin/ansible-lint roles/ playbooks/

bench: bench-inventory bench-pki bench-lab bench-netconfig bench-apply bench-dr bench-monitoring bench-provision bench-compliance
bench bench-inventory bench-pki bench-lab bench-monitoring: EXTRA_APT = $(BENCH_APT_PACKAGES)

bench-inventory: setup
	$(PY) bench/inventory_bench.py

bench-lab: setup
	$(PY) bench/lab_bench.py

bench-pki: setup
	$(PY) bench/pki_bench.py

# The province's 1,211 rendered configs against every device rule (goal < 5 s); no lab, no root.
bench-compliance: setup
	$(PY) bench/compliance_bench.py
	$(PY) bench/compliance_scaling.py

# Brings up its own lab (root); netmiko and ansible-playbook are the venv's.
bench-netconfig: setup
	$(PY) bench/netconfig_bench.py

# Brings up its own 61-node lab (root); jinbao, ansible-playbook and netmiko push the same change.
# Nornir is installed into a scratch folder for the run, never into the venv.
bench-apply: setup
	$(PY) bench/apply_bench.py

# Brings up its own lab (root); 5 switchover and 5 failover drills (DR_BENCH_RUNS), Patroni's
# documented timing beside them (bench/dr_bench.py says why not a running Patroni).
bench-dr: setup
	$(PY) bench/dr_bench.py

# Converge and verify the 30 servers of a 61-node lab; where the time goes; what SSH tuning gains.
bench-provision: setup
	$(PY) bench/provision_bench.py

# Simulated devices (snmpsim) polled by jinbao, snmpbulkwalk and
# prometheus-snmp-exporter; MONBENCH_ARGS='--sizes 100,1000,2000' for the full sizes.
bench-monitoring: setup
	$(PY) -m pip install -q --disable-pip-version-check -e '.[bench]'
	$(PY) bench/monitoring_bench.py $(MONBENCH_ARGS)

clean:
	rm -rf out .pytest_cache
