#!/usr/bin/env bash
# The main job: install what is missing, build, and run the demo of the model in-process.
# (Until the daemon exists, the demo drives an embedded lab and prints what it did.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release ppctl
exec build/release/client/ppctl/ppctl demo "$@"
