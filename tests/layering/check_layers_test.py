#!/usr/bin/env python3
"""Proof that the layering check fails when it should (ctest: layering.selftest).

A check that never fails proves nothing, so each case plants one forbidden edge in a scratch
copy of the real tree or of the real link graph and asserts that check_layers reports exactly
that edge: the file and line (or the target and path) and the two ends. The copies are taken
from the repository as it is, so a case also fails if the real tree stops being clean.

Environment: PPSIM_SOURCE_DIR (the repository; default: two levels up), CMAKE_COMMAND and
PPSIM_CXX (for the scratch configure that yields the link graph; default: cmake and CMake's
own choice of compiler).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_layers  # noqa: E402

SOURCE = os.environ.get("PPSIM_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
LAYERS = os.path.join(HERE, "layers.txt")


def copy_sources(dst):
    """The scanned part of the repository (server/, client/, proto/), sources only."""
    for top in check_layers.SCANNED_ROOTS:
        shutil.copytree(os.path.join(SOURCE, top), os.path.join(dst, top),
                        ignore=lambda d, names: [n for n in names
                                                 if os.path.isfile(os.path.join(d, n))
                                                 and not n.endswith(check_layers.SOURCE_SUFFIXES)])


def plant(root, rel, line):
    """Inserts `line` after the file's last #include; returns the 1-based line it landed on."""
    path = os.path.join(root, rel)
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    last = max(i for i, l in enumerate(lines) if check_layers.INCLUDE_RE.match(l))
    lines.insert(last + 1, line + "\n")
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)
    return last + 2


class IncludesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.decl = check_layers.Declaration(LAYERS)

    def fresh_copy(self):
        tree = tempfile.mkdtemp(prefix="ppsim-layering-test-")
        self.addCleanup(shutil.rmtree, tree)
        copy_sources(tree)
        return tree

    def planted_problem(self, rel, planted):
        """Plants `planted` in `rel` of a fresh copy; returns its line and the one problem."""
        tree = self.fresh_copy()
        line = plant(tree, rel, planted)
        problems = check_layers.check_includes(tree, self.decl)
        self.assertEqual(len(problems), 1, problems)
        return line, problems[0]

    def setUp(self):
        self.tmp = self.fresh_copy()
        self.assertEqual(check_layers.check_includes(self.tmp, self.decl), [],
                         "the copy of the real tree must be clean before anything is planted")

    # One forbidden include per case: (file, planted line, the edge the report must name).
    FORBIDDEN = [
        ("server/sim/lab.cc", '#include "server/service/lab_registry.h"', "sim -> service"),
        ("server/sim/page_pool.h", "#include <grpcpp/grpcpp.h>", "sim -> grpc"),
        ("server/sim/lab.h", '#include "ppsim/v1/ops.pb.h"', "sim -> proto"),
        ("client/chaos/shrink.cc", '#include "server/store/journal.h"', "chaos -> store"),
        ("server/metrics/metrics.cc", '#include "server/service/lab_registry.h"',
         "metrics -> service"),
        ("server/service/rpc_scope.cc", '#include "prometheus/registry.h"',
         "service -> prometheus"),
        ("server/convert/op_convert.cc", '#include "server/service/status.h"',
         "convert -> service"),
        ("client/ppctl/main.cc", "#include <sqlite3.h>", "ppctl -> sqlite"),
    ]

    def test_each_forbidden_include_is_reported_with_file_line_and_edge(self):
        for rel, include, edge in self.FORBIDDEN:
            with self.subTest(file=rel, edge=edge):
                line, problem = self.planted_problem(rel, include)
                self.assertTrue(problem.startswith(f"{rel}:{line}: #include "), problem)
                self.assertIn(f"crosses {edge}", problem)

    # One use of a name internal to the model per case: (file, planted line, the name the
    # report must quote). The Machine is server/sim's own (layers.txt `internal machine`).
    INTERNAL = [
        ("server/metrics/metrics.cc",
         "inline int Planted(const sim::Lab& l) { return l.machine().op_index; }", "machine()"),
        ("client/oracle/model_run.cc",
         "inline void Planted(sim::Lab& l) { sim::LabTestPeer::machine(l); }", "LabTestPeer"),
        ("server/service/quota.cc", "using sim::Machine;", "sim::Machine"),
        ("client/chaos/runner.cc", '#include "server/sim/machine.h"', "server/sim/machine.h"),
        ("client/ppctl/main.cc", '#include "server/sim/lab_test_peer.h"',
         "server/sim/lab_test_peer.h"),
    ]

    def test_each_use_of_an_internal_name_is_reported_with_file_line_and_name(self):
        for rel, planted, name in self.INTERNAL:
            with self.subTest(file=rel, name=name):
                line, problem = self.planted_problem(rel, planted)
                self.assertEqual(problem,
                                 f"{rel}:{line}: uses {name}, internal to server/sim (machine)")

    def test_internal_names_are_free_inside_their_directory_and_in_comments(self):
        plant(self.tmp, "server/sim/lab.cc",
              "inline void Planted(Lab& l) { LabTestPeer::machine(l); }")
        plant(self.tmp, "server/metrics/metrics.cc", "// once read l.machine() directly")
        self.assertEqual(check_layers.check_includes(self.tmp, self.decl), [])

    def test_a_file_in_no_layer_is_reported(self):
        os.makedirs(os.path.join(self.tmp, "server", "newlayer"))
        with open(os.path.join(self.tmp, "server", "newlayer", "x.cc"), "w") as f:
            f.write('#include "server/sim/lab.h"\n')
        problems = check_layers.check_includes(self.tmp, self.decl)
        self.assertEqual(len(problems), 1, problems)
        self.assertTrue(problems[0].startswith("server/newlayer/x.cc: in no layer"), problems[0])

    def test_an_include_of_an_undeclared_directory_is_reported(self):
        rel = "client/chaos/runner.cc"
        line = plant(self.tmp, rel, '#include "client/elsewhere/thing.h"')
        problems = check_layers.check_includes(self.tmp, self.decl)
        self.assertEqual(len(problems), 1, problems)
        self.assertTrue(problems[0].startswith(f"{rel}:{line}: "), problems[0])
        self.assertIn("names no declared layer", problems[0])

    def test_an_include_inside_a_string_is_not_an_include(self):
        # gtest_writer.cc prints "#include <gtest/gtest.h>" into generated tests.
        rel = "client/chaos/runner.cc"
        plant(self.tmp, rel, 'const char* kText = "#include <grpcpp/grpcpp.h>";')
        self.assertEqual(check_layers.check_includes(self.tmp, self.decl), [])

    def test_the_command_line_exits_1_and_names_the_edge(self):
        rel = "server/sim/lab.cc"
        line = plant(self.tmp, rel, '#include "server/metrics/metrics.h"')
        run = subprocess.run([sys.executable, os.path.join(HERE, "check_layers.py"), "includes",
                              "--root", self.tmp], capture_output=True, text=True)
        self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
        self.assertIn(f"{rel}:{line}: #include \"server/metrics/metrics.h\" crosses sim -> metrics",
                      run.stdout)


class LinksTest(unittest.TestCase):
    """Plants edges in the real link graph: the one a scratch configure of SOURCE produces."""

    @classmethod
    def setUpClass(cls):
        cls.decl = check_layers.Declaration(LAYERS)
        cls.tmp = tempfile.mkdtemp(prefix="ppsim-layering-graph-")
        dot = check_layers.write_graph(SOURCE, os.environ.get("CMAKE_COMMAND", "cmake"),
                                       os.environ.get("CMAKE_GENERATOR", "Ninja"),
                                       os.environ.get("PPSIM_CXX"), cls.tmp)
        with open(dot, encoding="utf-8") as f:
            cls.dot_text = f.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def graph_with(self, *edges):
        """The real graph with `edges` (pairs of target names) added, as cmake would write them."""
        ids = dict((label, node) for node, label in
                   re.findall(r'"(node\d+)" \[ label = "([^"]*)"', self.dot_text))
        extra = "".join(f'    "{ids[a]}" -> "{ids[b]}"  // {a} -> {b}\n' for a, b in edges)
        path = os.path.join(self.tmp, "planted.dot")
        with open(path, "w", encoding="utf-8") as f:
            # The graph's closing brace is its last character; the new edges go before it.
            f.write(self.dot_text.rstrip()[:-1] + extra + "}\n")
        return check_layers.read_dot(path)

    def test_the_real_graph_is_clean(self):
        self.assertEqual(check_layers.check_links(self.graph_with(), self.decl), [])

    def test_chaos_linking_the_service_is_reported_for_chaos_and_ppctl(self):
        problems = check_layers.check_links(self.graph_with(("ppsim_chaos", "ppsim_service")),
                                            self.decl)
        self.assertIn("target ppsim_chaos links ppsim_service (ppsim_chaos -> ppsim_service): "
                      "crosses chaos -> service", problems)
        # ppctl reaches the service, and SQLite behind it, through chaos.
        self.assertTrue(any(p.startswith("target ppctl links ppsim_service (ppctl -> ")
                            and p.endswith("crosses ppctl -> service") for p in problems),
                        problems)
        self.assertTrue(any(p.startswith("target ppctl links SQLite::SQLite3 (")
                            and p.endswith("crosses ppctl -> sqlite") for p in problems), problems)

    def test_the_service_metrics_cycle_is_reported(self):
        problems = check_layers.check_links(
            self.graph_with(("ppsim_service", "ppsim_metrics"), ("ppsim_metrics", "ppsim_service")),
            self.decl)
        self.assertIn("target ppsim_service links ppsim_metrics (ppsim_service -> ppsim_metrics): "
                      "crosses service -> metrics", problems)
        self.assertIn("target ppsim_metrics links ppsim_service (ppsim_metrics -> ppsim_service): "
                      "crosses metrics -> service", problems)

    def test_the_model_linking_a_third_party_family_is_reported(self):
        problems = check_layers.check_links(self.graph_with(("ppsim_sim", "spdlog::spdlog")),
                                            self.decl)
        self.assertIn("target ppsim_sim links spdlog::spdlog (ppsim_sim -> spdlog::spdlog): "
                      "crosses sim -> spdlog", problems)

    def test_a_target_in_no_layer_is_reported(self):
        graph = self.graph_with()
        graph["ppsim_newthing"] = ["ppsim_sim"]
        problems = check_layers.check_links(graph, self.decl)
        self.assertEqual(len(problems), 1, problems)
        self.assertTrue(problems[0].startswith("target ppsim_newthing: in no layer"), problems[0])


class DeclarationTest(unittest.TestCase):
    def write(self, text):
        fd, path = tempfile.mkstemp(suffix=".txt")
        self.addCleanup(os.remove, path)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def test_an_unknown_layer_in_uses_is_an_error(self):
        path = self.write("layer a dirs=x targets=t uses=nosuch external=\n")
        with self.assertRaisesRegex(check_layers.DeclarationError, "unknown layer nosuch"):
            check_layers.Declaration(path)

    def test_an_unknown_family_is_an_error(self):
        path = self.write("layer a dirs=x targets=t uses= external=nosuch\n")
        with self.assertRaisesRegex(check_layers.DeclarationError, "unknown family nosuch"):
            check_layers.Declaration(path)

    def test_an_internal_without_names_is_an_error(self):
        path = self.write("internal a dirs=x\n")
        with self.assertRaisesRegex(check_layers.DeclarationError, "needs dirs= and names="):
            check_layers.Declaration(path)


if __name__ == "__main__":
    unittest.main()
