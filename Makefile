# Entry points for a fresh machine: `make run` (the study on the default config,
# then its report, results/report.html) and `make test` (the test suite);
# `make report` rebuilds the report alone. Each creates or reuses .venv and
# installs the pinned dependencies by itself.
VENV ?= .venv
PY := $(VENV)/bin/python
CORES ?= 2

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

.PHONY: run report test dry-run
run: $(VENV)/.installed
	$(VENV)/bin/snakemake --cores $(CORES) --profile workflow/profiles/default
	$(MAKE) report

report: $(VENV)/.installed
	$(VENV)/bin/snakemake --profile workflow/profiles/default --report results/report.html

test: $(VENV)/.installed
	$(VENV)/bin/pytest

dry-run: $(VENV)/.installed
	$(VENV)/bin/snakemake -n --profile workflow/profiles/default
