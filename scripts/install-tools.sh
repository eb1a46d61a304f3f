#!/bin/sh
# Install the offline infrastructure checks (checkov, pycep-parser) into .venv-tools.
#
# Idempotent: does nothing when .venv-tools already holds exactly requirements-tools.txt
# (a hash of the file is kept inside the virtualenv); rebuilds it when the file changed or
# the virtualenv is missing or broken. Kept apart from .venv because checkov's dependencies
# conflict with the app's pins.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv-tools"
requirements="$root/requirements-tools.txt"
stamp="$venv/.requirements-tools.sha256"
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3

if command -v sha256sum >/dev/null 2>&1; then
    wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
else
    wanted=$(shasum -a 256 "$requirements" | cut -d' ' -f1)
fi
if [ -x "$venv/bin/checkov" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] \
    && "$venv/bin/python" -c "import pycep, checkov" 2>/dev/null; then
    echo "install-tools: .venv-tools is up to date"
    exit 0
fi

echo "install-tools: building .venv-tools from requirements-tools.txt"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
"$venv/bin/python" -m pip check
echo "$wanted" > "$stamp"
echo "install-tools: done ($("$venv/bin/checkov" --version 2>/dev/null || echo checkov))"
