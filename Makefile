# Two entry points for a fresh machine: `make run` (the study, default config)
# and `make test` (the test suite). Both create or reuse .venv and install the
# pinned dependencies by themselves.
VENV ?= .venv
PY := $(VENV)/bin/python
CORES ?= 2

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

.PHONY: run test dry-run
run: $(VENV)/.installed
	$(VENV)/bin/snakemake --cores $(CORES) --profile workflow/profiles/default

test: $(VENV)/.installed
	$(VENV)/bin/pytest

dry-run: $(VENV)/.installed
	$(VENV)/bin/snakemake -n --profile workflow/profiles/default
