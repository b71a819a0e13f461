#!/usr/bin/env python3
"""The layering check (docs/architecture.md): includes and links against tests/layering/layers.txt.

  check_layers.py includes --root SRC [--layers FILE]
      Every .h/.cc under server/, client/ and proto/ must belong to a layer; each of its
      #include lines may name only its own layer, a layer it `uses`, a free header, or a
      third-party family its layer lists in `external`; and it may not use a name declared
      `internal` to directories it is not in.
  check_layers.py links --dot FILE [--layers FILE]
  check_layers.py links --source SRC --cmake CMAKE [--generator G] [--layers FILE]
      The CMake link graph (cmake --graphviz; with --source, a scratch configure of SRC makes
      it). For every target of a layer, the targets it reaches through project targets must be
      in its layer or in the closure of its `uses`, and the third-party libraries those targets
      link directly must be in a family that closure lists. Every project target must be in a
      layer or `unlayered`.

Exit 0 when clean, 1 with one line per broken edge ("file:line: ... crosses a -> b"), 2 when
the declaration or the graph cannot be read. There is nothing to skip: a file, include or
target the declaration does not place is itself an error.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

SCANNED_ROOTS = ("server", "client", "proto")
SOURCE_SUFFIXES = (".h", ".cc", ".hpp", ".cpp")
# Project include paths: one of these at the start names a file of the project, which must
# then belong to a declared layer (a new directory is not silently free).
PROJECT_PREFIXES = tuple(r + "/" for r in SCANNED_ROOTS)
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
# Project targets are named ppsim* (and ppctl); anything else in the graph is third party.
PROJECT_TARGET_RE = re.compile(r"^(ppsim|ppctl$)")


class DeclarationError(Exception):
    pass


class Family:
    def __init__(self, name, headers, libs):
        self.name = name
        self.headers = [re.compile(h) for h in headers]
        self.libs = [re.compile(l) for l in libs]


class Layer:
    def __init__(self, name, fields):
        self.name = name
        self.dirs = fields.get("dirs", [])
        self.headers = fields.get("headers", [])
        self.targets = fields.get("targets", [])
        self.uses = fields.get("uses", [])
        self.external = fields.get("external", [])


class Internal:
    """Names (regexes) that only files under `dirs` may use."""

    def __init__(self, name, dirs, names):
        self.name = name
        self.dirs = dirs
        self.names = [re.compile(n) for n in names]


class Declaration:
    """layers.txt, parsed and cross-checked (unknown names are errors, not ignored)."""

    def __init__(self, path):
        self.path = path
        self.families = {}
        self.layers = {}
        self.unlayered = []
        self.internals = []
        entries = []  # (line number, text): an indented line continues the entry above it
        with open(path, encoding="utf-8") as f:
            for number, raw in enumerate(f, 1):
                text = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
                if not text:
                    continue
                if text[0].isspace() and entries:
                    entries[-1] = (entries[-1][0], entries[-1][1] + " " + text.strip())
                else:
                    entries.append((number, text.strip()))
        for number, line in entries:
            self._parse(line, number)
        self._validate()

    def _parse(self, line, number):
        words = line.split()
        kind = words[0]
        if kind == "unlayered":
            self.unlayered += [re.compile(p) for p in ",".join(words[1:]).split(",") if p]
            return
        if kind not in ("family", "layer", "internal") or len(words) < 2:
            raise DeclarationError(
                f"{self.path}:{number}: expected family, layer, internal or unlayered")
        fields = {}
        for word in words[2:]:
            key, sep, value = word.partition("=")
            if not sep:
                raise DeclarationError(f"{self.path}:{number}: '{word}' is not key=value")
            fields.setdefault(key, []).extend(v for v in value.split(",") if v)
        name = words[1]
        if kind == "internal":
            if not fields.get("dirs") or not fields.get("names"):
                raise DeclarationError(
                    f"{self.path}:{number}: internal {name} needs dirs= and names=")
            try:
                self.internals.append(Internal(name, fields["dirs"], fields["names"]))
            except re.error as e:
                raise DeclarationError(f"{self.path}:{number}: internal {name}: {e}")
            return
        if name in self.families or name in self.layers:
            raise DeclarationError(f"{self.path}:{number}: '{name}' declared twice")
        if kind == "family":
            self.families[name] = Family(name, fields.get("headers", []), fields.get("libs", []))
        else:
            self.layers[name] = Layer(name, fields)

    def _validate(self):
        for layer in self.layers.values():
            for used in layer.uses:
                if used not in self.layers:
                    raise DeclarationError(
                        f"{self.path}: layer {layer.name} uses unknown layer {used}")
            for fam in layer.external:
                if fam not in self.families:
                    raise DeclarationError(
                        f"{self.path}: layer {layer.name} names unknown family {fam}")
            if not layer.dirs or not layer.targets:
                raise DeclarationError(f"{self.path}: layer {layer.name} needs dirs= and targets=")

    # --- where things belong ---------------------------------------------------------------

    def layer_of_path(self, rel):
        """The layer a repo-relative path belongs to (most specific entry wins), or None."""
        best, best_len = None, -1
        for layer in self.layers.values():
            for d in layer.dirs:
                if d.endswith("/*"):
                    base = d[:-2]
                    hit = os.path.dirname(rel) == base
                    length = len(base)
                else:
                    hit = rel == d or rel.startswith(d.rstrip("/") + "/")
                    length = len(d) + (1 if rel == d else 0)
                if hit and length > best_len:
                    best, best_len = layer, length
        return best

    def internals_outside(self, rel):
        """The internal declarations whose names the file at `rel` may not use."""
        return [i for i in self.internals if not any(in_dir(rel, d) for d in i.dirs)]

    def layer_of_include(self, path):
        for layer in self.layers.values():
            if any(path.startswith(h) for h in layer.headers):
                return layer
        if path.startswith(PROJECT_PREFIXES):
            return self.layer_of_path(path)
        return None

    def families_of_header(self, path):
        return [f for f in self.families.values() if any(r.search(path) for r in f.headers)]

    def family_of_lib(self, name):
        for f in self.families.values():
            if any(r.search(name) for r in f.libs):
                return f
        return None

    def layer_of_target(self, target):
        for layer in self.layers.values():
            if target in layer.targets:
                return layer
        return None

    def closure(self, layer):
        """The layer and every layer reachable through `uses`."""
        seen, todo = {layer.name}, list(layer.uses)
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo += self.layers[name].uses
        return seen

    def closure_families(self, layer):
        return {f for name in self.closure(layer) for f in self.layers[name].external}


def in_dir(rel, d):
    return rel == d or rel.startswith(d.rstrip("/") + "/")


# --- includes --------------------------------------------------------------------------------


def source_files(root):
    for top in SCANNED_ROOTS:
        base = os.path.join(root, top)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(SOURCE_SUFFIXES):
                    yield os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")


def check_includes(root, decl):
    """One message per forbidden include, unplaced file or unplaced project include."""
    problems = []
    files = 0
    for rel in source_files(root):
        files += 1
        layer = decl.layer_of_path(rel)
        if layer is None:
            problems.append(f"{rel}: in no layer of {decl.path} (add it to a layer's dirs=)")
            continue
        internals = decl.internals_outside(rel)
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                problems += internal_problems(internals, rel, number, line)
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                problems += include_problems(decl, rel, number, layer, m.group(2), m.group(1))
    if files == 0:
        problems.append(f"{root}: no sources under {', '.join(SCANNED_ROOTS)} (wrong --root?)")
    return problems


def include_problems(decl, rel, number, layer, path, quote='"'):
    spelled = f'"{path}"' if quote == '"' else f"<{path}>"
    where = f"{rel}:{number}: #include {spelled}"
    out = []
    target = decl.layer_of_include(path)
    if target is None and path.startswith(PROJECT_PREFIXES):
        out.append(f"{where}: names no declared layer")
    elif target is not None and target is not layer and target.name not in layer.uses:
        out.append(f"{where} crosses {layer.name} -> {target.name} (not in {layer.name}'s uses)")
    for fam in decl.families_of_header(path):
        if fam.name not in layer.external:
            out.append(
                f"{where} crosses {layer.name} -> {fam.name} (not in {layer.name}'s external)")
    return out


def internal_problems(internals, rel, number, line):
    """A use, outside a // comment, of a name internal to directories `rel` is not in."""
    code = line.split("//", 1)[0]
    out = []
    for internal in internals:
        for name in internal.names:
            m = name.search(code)
            if m:
                out.append(f"{rel}:{number}: uses {m.group(0)}, internal to "
                           f"{','.join(internal.dirs)} ({internal.name})")
    return out


# --- links -----------------------------------------------------------------------------------

NODE_RE = re.compile(r'^\s*"(node\d+)"\s*\[\s*label\s*=\s*"([^"]*)"')
EDGE_RE = re.compile(r'^\s*"(node\d+)"\s*->\s*"(node\d+)"')


def read_dot(path):
    """{target: [direct link dependencies]} from cmake --graphviz's main file."""
    labels, edges = {}, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = EDGE_RE.match(line)
            if m:
                edges.append((m.group(1), m.group(2)))
                continue
            m = NODE_RE.match(line)
            if m:
                labels[m.group(1)] = m.group(2)
    graph = {name: [] for name in labels.values()}
    for a, b in edges:
        if a not in labels or b not in labels:
            raise DeclarationError(f"{path}: edge {a} -> {b} names an undeclared node")
        graph[labels[a]].append(labels[b])
    if not graph:
        raise DeclarationError(f"{path}: no targets (not a cmake --graphviz file?)")
    return graph


def check_links(graph, decl):
    problems = []
    for target in sorted(graph):
        if not PROJECT_TARGET_RE.match(target):
            continue
        unlayered = any(r.search(target) for r in decl.unlayered)
        if decl.layer_of_target(target) is None and not unlayered:
            problems.append(f"target {target}: in no layer and not unlayered in {decl.path}")
    for layer in decl.layers.values():
        allowed_layers = decl.closure(layer)
        allowed_families = decl.closure_families(layer)
        for target in layer.targets:
            if target not in graph:
                problems.append(f"target {target} (layer {layer.name}): not in the link graph")
                continue
            problems += target_link_problems(graph, decl, layer, target, allowed_layers,
                                             allowed_families)
    return problems


def target_link_problems(graph, decl, layer, target, allowed_layers, allowed_families):
    """Walks project targets from `target`; third-party nodes are checked, not entered (their
    own dependencies are their business, not an edge of ours)."""
    out = []
    seen = {target}
    reported = set()  # each forbidden dependency once, with the first path found to it
    todo = [(target, [target])]
    while todo:
        node, path = todo.pop()
        for dep in graph.get(node, []):
            via = " -> ".join(path + [dep])
            if dep in reported:
                continue
            dep_layer = decl.layer_of_target(dep)
            if dep_layer is not None:
                if dep_layer.name not in allowed_layers:
                    reported.add(dep)
                    out.append(f"target {target} links {dep} ({via}): crosses "
                               f"{layer.name} -> {dep_layer.name}")
            elif PROJECT_TARGET_RE.match(dep):
                reported.add(dep)
                out.append(f"target {target} links {dep} ({via}), which is in no layer")
                continue
            else:
                fam = decl.family_of_lib(dep)
                if fam is not None and fam.name not in allowed_families:
                    reported.add(dep)
                    out.append(f"target {target} links {dep} ({via}): crosses "
                               f"{layer.name} -> {fam.name}")
                continue
            if dep not in seen:
                seen.add(dep)
                todo.append((dep, path + [dep]))
    return out


def write_graph(source, cmake, generator, cxx, scratch):
    """Configures `source` in `scratch` with --graphviz (the link graph CMake itself computes)
    and returns the path of the graph's main file."""
    dot = os.path.join(scratch, "graph", "links.dot")
    cmd = [cmake, "-S", source, "-B", os.path.join(scratch, "build"), "-G", generator,
           f"--graphviz={dot}", "-DPPSIM_PCH=OFF", "-DPPSIM_UNITY=OFF"]
    if cxx:
        cmd.append(f"-DCMAKE_CXX_COMPILER={cxx}")
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise DeclarationError("configure for the link graph failed:\n" + run.stdout + run.stderr)
    return dot


def graph_from_source(source, cmake, generator, cxx=None):
    with tempfile.TemporaryDirectory(prefix="ppsim-layering-") as scratch:
        return read_dot(write_graph(source, cmake, generator, cxx, scratch))


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["includes", "links"])
    p.add_argument("--layers", default=os.path.join(here, "layers.txt"))
    p.add_argument("--root", help="source tree to scan (includes)")
    p.add_argument("--dot", help="cmake --graphviz output (links)")
    p.add_argument("--source", help="source tree to configure for its link graph (links)")
    p.add_argument("--cmake", default="cmake")
    p.add_argument("--generator", default="Ninja")
    p.add_argument("--cxx", help="C++ compiler for the scratch configure (the build's own)")
    args = p.parse_args(argv)
    try:
        decl = Declaration(args.layers)
        if args.mode == "includes":
            if not args.root:
                p.error("includes needs --root")
            problems = check_includes(args.root, decl)
        else:
            if args.dot:
                graph = read_dot(args.dot)
            elif args.source:
                graph = graph_from_source(args.source, args.cmake, args.generator, args.cxx)
            else:
                p.error("links needs --dot or --source")
            problems = check_links(graph, decl)
    except (DeclarationError, OSError) as e:
        print(f"layering: {e}", file=sys.stderr)
        return 2
    for line in problems:
        print(line)
    if problems:
        print(f"layering: {len(problems)} forbidden edge(s); the allowed ones are in {decl.path}",
              file=sys.stderr)
        return 1
    print(f"layering: {args.mode} follow {decl.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
