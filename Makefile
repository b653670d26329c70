# dicomweb_oauth.orthanc — developer entry points. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STATE := .testenv

.PHONY: help demo demo-clean deps lock lint sanity docs docs-check changelog test test-fresh test-unit test-integration bench clean-state

help:
	@echo "make demo    set up everything (Debian 12 machine, root), deploy the demo stack with site.yml"
	@echo "             to a fresh Debian 13 container (DEMO_RELEASE=bookworm: Debian 12) and show a"
	@echo "             study going through OAuth"
	@echo "make test    set up everything (Debian 12, root) and run every test suite"
	@echo "make bench   benchmarks; prints their figures"
	@echo "make lint    ruff, mypy, generated-docs check, ansible-lint (production profile)"
	@echo "make sanity  ansible-test sanity for the lowest and highest ansible-core declared"
	@echo "make docs    regenerate the generated docs"
	@echo "make changelog  CHANGELOG.md from changelogs/ (antsibull-changelog; add a fragment per change)"
	@echo "make lock    resolve every pinned set of requirements/ anew (deliberately; see docs/testing.md)"
	@echo "make test-fresh  the suite as CI runs it on a machine without cached images (a clean clone of"
	@echo "             HEAD, every image built afresh under new tags)"

deps:
	@bash scripts/bootstrap.sh

# Every venv and image installs from a pinned set in requirements/ (transitive dependencies and
# hashes included); this resolves them anew. Edit the .in file to move a version, then run it.
lock: deps
	bash scripts/lock.sh

demo:
	@bash scripts/demo.sh

demo-clean:
	-podman rm -f dwo-demo
	-$(PY) scripts/demo_vault.py stop

# The lowest and the highest ansible-core tested (meta/runtime.yml); 2.21 needs Python 3.12 or
# newer, so it runs on a Debian 13 controller (scripts/in-controller.sh).
ANSIBLE_LOWEST  := 2.16.14
ANSIBLE_HIGHEST := 2.21.5

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(MAKE) --no-print-directory docs-check
	$(VENV)/bin/antsibull-changelog lint
	PATH=$(CURDIR)/.testenv/ansible-lint/bin:$$PATH .testenv/ansible-lint/bin/ansible-lint --nocolor -q
	bash scripts/in-controller.sh -- ansible-lint --nocolor -q

sanity: deps
	bash scripts/ansible-sanity.sh $(ANSIBLE_LOWEST)
	bash scripts/ansible-sanity.sh $(ANSIBLE_HIGHEST)

docs:
	$(PY) scripts/docs.py

# Every generated document and block (scripts/docs.py lists them) must equal what its source gives.
docs-check:
	@$(PY) scripts/docs.py --check

test-unit: deps
	$(PY) -m pytest plugin/tests -q

test-integration: deps
	$(PY) -m pytest tests -q

# Everything (scripts/run-tests.sh: the suite, the molecule scenarios, and the plugin's
# end-to-end suite again against Debian 13's Orthanc); no test may leave a server running.
test: lint sanity
	@bash scripts/run-tests.sh

# As CI on a fresh machine: a clean clone of HEAD, images built afresh under salted tags.
test-fresh:
	@bash scripts/test-fresh.sh

# Each prints its figures (README, "Performance" quotes the latest); about 15 minutes in all.
bench: deps
	$(PY) bench/token_cache.py
	$(PY) bench/data_path.py
	$(PY) bench/refresh_under_load.py
	$(PY) bench/compile_inventory.py
	$(PY) bench/deploy_time.py
	$(PY) bench/tls_front.py

clean-state:
	-$(PY) -m testenv stop all --state-dir $(STATE)/pytest
	-$(PY) -m testenv stop all --state-dir $(STATE)/pytest-trixie
	-$(PY) -m testenv stop all --state-dir $(STATE)/pytest-molecule
	-$(PY) -m testenv stop all --state-dir $(STATE)/bench
	rm -rf $(STATE)
