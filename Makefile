# Two commands on a fresh machine: `make demo` and `make test`. Both install what they need.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.doppel-installed
TORCH  ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: demo test install clean-runs

demo: $(STAMP)
	$(VENV)/bin/doppel demo

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

install: $(STAMP)

# torch goes in first: the pin takes the CPU build here, and the package's looser torch
# requirement is then already met, so pip pulls no CUDA wheels. llama-cpp-python is compiled
# next, without llama.cpp's AMX kernel (it crashed on batched prompts), once per machine.
$(STAMP): pyproject.toml tools/build_llama.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "$(TORCH)"
	$(PY) tools/build_llama.py
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test,smollm2]'
	$(PY) tools/check_install.py
	touch $@

clean-runs:
	rm -rf runs
