# jinbao: two commands for people, `make demo` and `make test`. Each does its own setup on a
# fresh Debian 12 machine as root, idempotently: apt packages only when missing, a venv, and
# `pip install -e .`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
JINBAO := $(VENV)/bin/jinbao
# Everything the lab and the tests run for real.
APT_PACKAGES := python3-venv graphviz fonts-wqy-microhei openssl iproute2 iputils-ping nftables \
	frr frr-snmp snmpd snmp openssh-server openssh-client keepalived postgresql

.PHONY: setup apt venv demo test bench bench-inventory clean

setup: apt venv

apt:
	@missing=$$(for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing $$(echo $$missing)"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	else echo "apt: all packages present"; fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

demo: setup
	$(JINBAO) inventory validate
	$(JINBAO) inventory show --site chuzhou
	$(JINBAO) inventory graph --out out
	@echo "The province's topology is in out/province-topology.svg (and .png)."

test: setup
	$(PY) -m pytest -q

bench: bench-inventory

bench-inventory: setup
	$(PY) bench/inventory_bench.py

clean:
	rm -rf out .pytest_cache
