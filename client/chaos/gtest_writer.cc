// File: client/chaos/gtest_writer.cc
#include "client/chaos/gtest_writer.h"

#include <cctype>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ppsim::chaos {

std::string GtestIdentifier(const std::string& name) {
  std::string out;
  bool upper = true;
  for (const char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      upper = true;  // '_' too: gtest reserves names with underscores in them
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "Case" + out;
  return out;
}

std::string GtestCaseText(const std::string& yaml, const std::string& violation,
                          const std::vector<std::string>& comment, const std::string& name) {
  // A raw-string delimiter the YAML cannot close early.
  std::string delim = "yaml";
  while (absl::StrContains(yaml, absl::StrCat(")", delim, "\""))) delim += "_";
  std::string out;
  for (const std::string& line : comment) absl::StrAppend(&out, "// ", line, "\n");
  absl::StrAppend(
      &out,
      "#include <gtest/gtest.h>\n"
      "\n"
      "#include <memory>\n"
      "#include <string>\n"
      "\n"
      "#include \"client/chaos/lab_target.h\"\n"
      "#include \"client/chaos/runner.h\"\n"
      "#include \"client/chaos/scenario_loader.h\"\n"
      "\n"
      "namespace {\n"
      "\n"
      "constexpr char kScenario[] = R\"", delim, "(\n", yaml, ")", delim, "\";\n"
      "\n"
      "TEST(Shrunk, ", GtestIdentifier(name), ") {\n"
      "  absl::StatusOr<ppsim::chaos::Scenario> s =\n"
      "      ppsim::chaos::LoadScenarioText(kScenario, \"", name, ".yaml\");\n"
      "  ASSERT_TRUE(s.ok()) << s.status();\n"
      "  std::unique_ptr<ppsim::chaos::LabTarget> target = ppsim::chaos::EmbeddedTarget();\n"
      "  absl::StatusOr<ppsim::chaos::ScenarioResult> r = ppsim::chaos::RunScenario(*s, *target);\n"
      "  ASSERT_TRUE(r.ok()) << r.status();\n"
      "  ASSERT_EQ(r->runs.size(), 1u);\n"
      "  const ppsim::chaos::RunResult& run = r->runs[0];\n"
      "  bool raised = false;\n"
      "  for (const ppsim::chaos::ViolationSummary& v : run.violations) {\n"
      "    raised = raised || v.id == \"", violation, "\";\n"
      "  }\n"
      "  EXPECT_TRUE(raised) << \"", violation, " is no longer raised by the shrunk ops\";\n"
      "  EXPECT_EQ(run.verdict, ppsim::chaos::Verdict::kPass)\n"
      "      << (run.checks.empty() ? \"\" : run.checks[0].message);\n"
      "}\n"
      "\n"
      "}  // namespace\n");
  return out;
}

}  // namespace ppsim::chaos
