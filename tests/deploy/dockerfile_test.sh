#!/usr/bin/env bash
# ctest deploy.dockerfile: deploy/docker/Dockerfile without a Docker engine.
#  1. dockerfile_check.py: the stages, and every library ppsimd and ppctl load (ldd -> dpkg -S)
#     comes from a package the runtime stage installs (named, a dependency, or the base image);
#  2. the same check fails, naming the library, on a Dockerfile that leaves a package out, and
#     fails on one that runs as root;
#  3. ppsimd starts with the image's CMD flags (ports moved to free ones) and answers health:
#     the flags the image bakes in exist and are accepted together.
# usage: dockerfile_test.sh PPSIMD PPCTL SOURCE_DIR
set -euo pipefail
ppsimd=$1 ppctl=$2 src=$3
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 "$here/dockerfile_check.py" "$src" "$ppsimd" "$ppctl"

sed 's/ libyaml-cpp0.7//' "$src/deploy/docker/Dockerfile" >"$tmp/Dockerfile.noyaml"
grep -q 'libyaml-cpp0.7' "$tmp/Dockerfile.noyaml" && { echo "mutation did not apply"; exit 1; }
if out=$(PPSIM_DOCKERFILE="$tmp/Dockerfile.noyaml" /usr/bin/python3 "$here/dockerfile_check.py" "$src" "$ppsimd" "$ppctl"); then
  echo "FAIL: a runtime stage without libyaml-cpp0.7 passed"; exit 1
fi
echo "$out" | grep -q '^FAIL libyaml-cpp.so.0.7 (.*ppsimd.*) is in package libyaml-cpp0.7, which the runtime stage does not install' ||
  { echo "FAIL: missing libyaml-cpp0.7 not named:"; echo "$out" | grep FAIL; exit 1; }
echo "caught: runtime stage without libyaml-cpp0.7"
sed 's/^USER 10001:10001/USER root/' "$src/deploy/docker/Dockerfile" >"$tmp/Dockerfile.root"
if PPSIM_DOCKERFILE="$tmp/Dockerfile.root" /usr/bin/python3 "$here/dockerfile_check.py" "$src" "$ppsimd" "$ppctl" >"$tmp/root.out"; then
  echo "FAIL: USER root passed"; exit 1
fi
grep -q 'FAIL runtime USER must be a numeric non-root UID' "$tmp/root.out" || { cat "$tmp/root.out"; exit 1; }
echo "caught: USER root"

# The image's CMD with its two fixed ports replaced by 0 (free ones, same addresses) and the data
# dir by a temporary one: the flags and the rest of their values are what is under test.
mapfile -t cmd < <(/usr/bin/python3 - "$src/deploy/docker/Dockerfile" "$tmp" <<'PY'
import json, re, sys
cmd = json.loads(re.findall(r'^CMD (.*)$', open(sys.argv[1]).read(), re.M)[-1])
for a in cmd:
    a = re.sub(r"^(--(?:metrics-)?listen=.*):\d+$", r"\g<1>:0", a)
    a = re.sub(r"^--data-dir=.*$", f"--data-dir={sys.argv[2]}/data", a)
    print(a)
PY
)
echo "ppsimd ${cmd[*]}"
"$ppsimd" "${cmd[@]}" --ready-file "$tmp/ready.json" >"$tmp/ppsimd.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 200); do
  [[ -s "$tmp/ready.json" ]] && break
  kill -0 $pid 2>/dev/null || { cat "$tmp/ppsimd.log"; echo "FAIL: ppsimd exited with the image's CMD"; exit 1; }
  sleep 0.05
done
target=127.0.0.1:$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["grpc"].rsplit(":",1)[1])' "$tmp/ready.json")
"$ppctl" health --target "$target" --service ppsim.v1.OpsService
head -1 "$tmp/ppsimd.log" | /usr/bin/python3 -c 'import json,sys; json.loads(sys.stdin.readline())' ||
  { echo "FAIL: --log-format=json from CMD did not give JSON lines"; head -3 "$tmp/ppsimd.log"; exit 1; }
echo "deploy.dockerfile: ok"
