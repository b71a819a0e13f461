#!/usr/bin/python3
"""Checks deploy/docker/Dockerfile against real binaries, offline (no Docker engine needed).

Static: two stages on debian:bookworm-slim; the build stage installs every -dev package of
scripts/install-deps.sh but the test-only ones and builds ppsimd and ppctl with the release
preset; the runtime stage installs no -dev package, copies both binaries, runs as a numeric
non-root UID with the data dir as a volume; the build context (Dockerfile.dockerignore) holds
what the build stage copies.

Libraries: every shared library that ppsimd and ppctl load (ldd) is mapped to its Debian package
(dpkg -S); each must be installed by the runtime stage: a package its apt-get line names, one of
their Depends/Pre-Depends (recursively, from dpkg's database: what apt would pull in), or one of
the base image's (Priority required or Essential, and their dependencies: debootstrap minbase,
which debian:*-slim is). Every package the runtime stage names must provide a loaded library.

usage: dockerfile_check.py SOURCE_DIR PPSIMD PPCTL
Prints the library -> package table; exits 1 naming every problem.
"""
import json
import os
import re
import shlex
import subprocess
import sys

src, binaries = sys.argv[1], sys.argv[2:]
problems = []


def fail(msg):
    problems.append(msg)


def instructions(path):
    """Dockerfile instructions as (KEYWORD, argument text), continuation lines joined."""
    out, cur = [], ""
    for raw in open(path, encoding="utf-8"):
        line = raw.rstrip("\n")
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        kw, _, rest = cur.strip().partition(" ")
        out.append((kw.upper(), rest.strip()))
        cur = ""
    return out


# PPSIM_DOCKERFILE: check another Dockerfile (the test feeds broken copies to see them fail).
dockerfile = os.environ.get("PPSIM_DOCKERFILE") or os.path.join(src, "deploy/docker/Dockerfile")
ins = instructions(dockerfile)
args = {}
stages = []  # [name, base, [(kw, arg)]]
for kw, arg in ins:
    if kw == "ARG" and not stages:
        k, _, v = arg.partition("=")
        args[k] = v
    elif kw == "FROM":
        m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", arg, re.I)
        base = re.sub(r"\$\{(\w+)\}", lambda g: args.get(g.group(1), ""), m.group(1))
        stages.append([m.group(2), base, []])
    elif stages:
        stages[-1][2].append((kw, arg))

if [s[1] for s in stages] != ["debian:bookworm-slim"] * 2:
    fail(f"want two stages on debian:bookworm-slim, got {[s[1] for s in stages]}")
build = next((s for s in stages if s[0] == "build"), None)
runtime = stages[-1] if stages else None
if build is None or runtime is None or runtime is build:
    print("FAIL: need a stage named build and a runtime stage after it")
    sys.exit(1)


def runs(stage):
    return " ; ".join(a for k, a in stage[2] if k == "RUN")


# Build stage: the -dev packages of scripts/install-deps.sh (the build CI tests), less those only
# the tests and fuzzers link.
TEST_ONLY = {"libgtest-dev", "libgmock-dev", "libbenchmark-dev", "librapidcheck-dev",
             "libclang-rt-14-dev"}
brun = runs(build)
copied = [shlex.split(a)[:-1] for k, a in build[2] if k == "COPY"]
bm = re.search(r"apt-get install\s+((?:-\S+\s+)*)([^;&|]+)", brun)
build_pkgs = set(bm.group(2).split()) if bm else set()
deps_text = open(os.path.join(src, "scripts/install-deps.sh"), encoding="utf-8").read()
listed = re.search(r"PACKAGES=\(([^)]*)\)", deps_text).group(1)
dev_pkgs = {p for p in re.sub(r"#.*", "", listed).split()
            if p.endswith("-dev") or p.startswith("protobuf-compiler")} - TEST_ONLY
for need in sorted(dev_pkgs | {"build-essential", "cmake", "ninja-build"}):
    if need not in build_pkgs:
        fail(f"build stage does not install {need} (scripts/install-deps.sh has it)")
presets = json.load(open(os.path.join(src, "CMakePresets.json"), encoding="utf-8"))
release = next((p for p in presets["configurePresets"] if p["name"] == "release"), {})
if release.get("cacheVariables", {}).get("CMAKE_BUILD_TYPE") != "Release":
    fail("CMakePresets.json has no release preset with CMAKE_BUILD_TYPE=Release")
if not re.search(r"cmake --preset release\b", brun) or not re.search(r"cmake --build --preset release\b.*--target ppsimd ppctl", brun):
    fail("build stage does not configure and build ppsimd ppctl with the release preset")
ignore = open(os.path.join(src, "deploy/docker/Dockerfile.dockerignore"), encoding="utf-8").read().split("\n")
for c in copied:
    for path in c:
        if path.startswith("--"):
            continue
        if f"!{path}" not in ignore and f"!{path.rstrip('/')}/" not in ignore:
            fail(f"build stage copies {path}, which Dockerfile.dockerignore leaves out of the context")

# Runtime stage.
rrun = runs(runtime)
m = re.search(r"apt-get install\s+((?:-\S+\s+)*)([^;&|]+)", rrun)
if not m:
    print("FAIL: runtime stage has no apt-get install line")
    sys.exit(1)
if "--no-install-recommends" not in m.group(1):
    fail("runtime apt-get install lacks --no-install-recommends")
runtime_pkgs = m.group(2).split()
for p in runtime_pkgs:
    if p.endswith("-dev"):
        fail(f"runtime stage installs a -dev package: {p}")
user = [a for k, a in runtime[2] if k == "USER"]
if not user or not re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", user[-1]):
    fail(f"runtime USER must be a numeric non-root UID[:GID], got {user}")
copies = " ".join(a for k, a in runtime[2] if k == "COPY")
if "--from=build" not in copies:
    fail("runtime stage copies nothing from the build stage")
for b in ("ppsimd", "ppctl"):
    if not re.search(rf"/out/usr/local/bin/{b}\b", brun):
        fail(f"build stage does not install {b} into /out/usr/local/bin")
entry = [a for k, a in runtime[2] if k == "ENTRYPOINT"]
if not entry or json.loads(entry[-1]) != ["/usr/local/bin/ppsimd"]:
    fail(f"ENTRYPOINT must be exec-form [\"/usr/local/bin/ppsimd\"], got {entry}")
cmd = json.loads([a for k, a in runtime[2] if k == "CMD"][-1])
data_dir = next((c.split("=", 1)[1] for c in cmd if c.startswith("--data-dir=")), None)
volumes = [v for k, a in runtime[2] if k == "VOLUME" for v in json.loads(a)]
if data_dir is None or data_dir not in volumes:
    fail(f"the data dir ({data_dir}) must be a VOLUME (read-only root filesystem), volumes: {volumes}")
uid = user[-1].split(":")[0] if user else ""
if not re.search(rf"install -d -o {uid} -g \d+ .*{re.escape(data_dir or '/x')}", rrun):
    fail(f"the data dir {data_dir} is not created owned by UID {uid}")


# Packages: dpkg's own database, offline, read once.
db = {}
listing = subprocess.run(
    ["dpkg-query", "-W", "-f=${Package}\t${Priority}\t${Essential}\t${Pre-Depends}\t${Depends}\n"],
    capture_output=True, text=True, check=True).stdout
for line in listing.splitlines():
    name, prio, essential, pre, dep = line.split("\t")
    deps = []
    for alt in f"{pre},{dep}".split(","):
        first = alt.split("|")[0].strip().split(" ")[0].split(":")[0]
        if first:
            deps.append(first)
    db[name] = (prio, essential, deps)


def closure(roots):
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(db.get(p, ("", "", []))[2])
    return seen


base = closure(n for n, (prio, ess, _) in db.items() if prio == "required" or ess == "yes")
for p in runtime_pkgs:
    if p not in db:
        fail(f"runtime package {p} is not a Debian package known here (dpkg-query -W {p})")
installed = closure(runtime_pkgs)

libs = {}
for b in binaries:
    out = subprocess.run(["ldd", b], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        line = line.strip()
        if "not found" in line:
            fail(f"{os.path.basename(b)}: {line}")
        m = re.match(r"(\S+)(?: => (\S+))? \(0x", line)
        if not m:
            continue
        path = m.group(2) or m.group(1)
        if path.startswith("/"):
            libs.setdefault(path, set()).add(os.path.basename(b))


def owners(paths):
    """dpkg -S for many paths at once: {path: package}. With merged /usr a library may be
    registered under /lib or /usr/lib, or only under its real (versioned) file name."""
    cands = {}
    for p in paths:
        cands[p] = [p, "/usr" + p if not p.startswith("/usr/") else p[4:], os.path.realpath(p)]
    flat = sorted({c for cs in cands.values() for c in cs})
    r = subprocess.run(["dpkg", "-S", *flat], capture_output=True, text=True)
    owned = {}
    for line in r.stdout.splitlines():
        pkgs, _, path = line.partition(": ")
        owned[path.strip()] = pkgs.split(",")[0].split(":")[0].strip()
    return {p: next((owned[c] for c in cs if c in owned), None) for p, cs in cands.items()}


owner = owners(libs)
direct = {p: [] for p in runtime_pkgs}
print(f"{'library':50} {'package':28} provided by")
for path in sorted(libs):
    pkg = owner[path]
    if pkg is None:
        fail(f"{path}: no Debian package owns it (dpkg -S)")
        continue
    if pkg in direct:
        how = "runtime stage (named)"
        direct[pkg].append(os.path.basename(path))
    elif pkg in installed:
        how = "runtime stage (dependency)"
    elif pkg in base:
        how = "base image"
    else:
        how = "NOTHING"
        fail(f"{os.path.basename(path)} ({', '.join(sorted(libs[path]))}) is in package {pkg}, "
             f"which the runtime stage does not install")
    print(f"{os.path.basename(path):50} {pkg:28} {how}")
for p, provided in direct.items():
    if not provided:
        fail(f"runtime package {p} provides no library that ppsimd or ppctl loads")

for p in problems:
    print(f"FAIL {p}")
print(f"{len(libs)} libraries, {len(runtime_pkgs)} runtime packages: "
      + ("ok" if not problems else f"{len(problems)} problem(s)"))
sys.exit(1 if problems else 0)
