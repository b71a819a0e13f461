#!/usr/bin/env python3
"""Citations of the docs resolve: a comment or doc that cites `docs/kernel/<file>.md §x` or
`docs/design.md §x` names a file that exists and a section that file has; no file cites the old
short forms `kernel/<file>.md` or a bare `design.md` (which named the docs by a path outside the
repository); every relative link in README.md and docs/**/*.md points at a file of the
repository.

Usage: citations_test.py SOURCE_DIR
Not read: recorded kernel observations and fuzzer inputs (data, not text that cites).
"""
import pathlib
import re
import subprocess
import sys

SKIP = ("tests/oracle/observed/", "tests/fuzz/corpus/", "tests/docs/citations_test.py")
SECTION_ID = r"[0-9]+[a-z]?(?:\.[0-9]+)*"
CITE = re.compile(r"docs/kernel/([A-Za-z0-9_-]+\.md)((?:\s*(?:,|–|-|and|\+|/)?\s*§\s?" +
                  SECTION_ID + r")*)")
SECTION = re.compile(r"§\s?(" + SECTION_ID + r")")
SHORT_FORM = re.compile(r"(?<![\w/.-])kernel/[A-Za-z0-9_-]+\.md")
DESIGN_CITE = re.compile(r"docs/design\.md((?:\s*(?:,|–|-|and|\+|/)?\s*§\s?" + SECTION_ID + r")*)")
DESIGN_SHORT = re.compile(r"(?<![\w/.-])design\.md")
HEADING = re.compile(r"^#+\s+(" + SECTION_ID + r")\.?\s")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def sections(doc):
    ids = set()
    for line in doc.read_text().splitlines():
        m = HEADING.match(line)
        if m:
            ids.add(m.group(1))
    return ids


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    files = subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True, text=True,
                           check=True).stdout.split()
    kernel_docs = {p.name: sections(p) for p in (root / "docs" / "kernel").glob("*.md")}
    design = sections(root / "docs" / "design.md")
    failures = []
    citations = 0
    for name in files:
        if name.startswith(SKIP):
            continue
        path = root / name
        try:
            text = path.read_text()
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            for m in SHORT_FORM.finditer(line):
                failures.append(f"{name}:{n}: {m.group(0)} is not a path of the repository; "
                                f"cite docs/{m.group(0)}")
            for m in DESIGN_SHORT.finditer(line):
                failures.append(f"{name}:{n}: {m.group(0)} is not a path of the repository; "
                                f"cite docs/design.md")
            for m in DESIGN_CITE.finditer(line):
                for s in SECTION.findall(m.group(1)):
                    if s not in design:
                        failures.append(f"{name}:{n}: docs/design.md has no section §{s}")
            for m in CITE.finditer(line):
                citations += 1
                doc = m.group(1)
                if doc not in kernel_docs:
                    failures.append(f"{name}:{n}: docs/kernel/{doc} does not exist")
                    continue
                for s in SECTION.findall(m.group(2)):
                    if s not in kernel_docs[doc]:
                        failures.append(f"{name}:{n}: docs/kernel/{doc} has no section §{s}")
            if name == "README.md" or (name.startswith("docs/") and name.endswith(".md")):
                for target in LINK.findall(line):
                    if re.match(r"^[a-z]+:", target):
                        continue
                    if not (path.parent / target).resolve().exists():
                        failures.append(f"{name}:{n}: link {target} points at nothing")
    for f in failures:
        print(f"FAIL {f}")
    if citations < 100:
        failures.append(f"only {citations} docs/kernel citations found: is the pattern broken?")
        print(f"FAIL {failures[-1]}")
    print(f"docs citations: {citations} docs/kernel citations, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
