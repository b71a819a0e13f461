#include "client/oracle/divergence_class.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace ppsim::oracle {

namespace {

bool IsNumber(absl::string_view w) {
  return !w.empty() && std::all_of(w.begin(), w.end(), absl::ascii_isdigit);
}

}  // namespace

std::string DivergenceClass(const Divergence& d) {
  // The op: its name, allow_direct when given, its context; the indices are this sequence's.
  std::vector<absl::string_view> op;
  for (absl::string_view w : absl::StrSplit(d.line, ' ', absl::SkipEmpty())) {
    if (op.empty() || absl::StartsWith(w, "allow_direct") || absl::StartsWith(w, "@")) {
      op.push_back(w);
    }
  }
  // The field without object indices: "pool 3 cache" → "pool cache".
  std::vector<absl::string_view> field;
  for (absl::string_view w : absl::StrSplit(d.field, ' ', absl::SkipEmpty())) {
    if (!IsNumber(w)) field.push_back(w);
  }
  return absl::StrCat(absl::StrJoin(op, " "), ": ", absl::StrJoin(field, " "));
}

void DivergenceClasses::Add(const std::string& sequence, const Divergence& first) {
  classes_[DivergenceClass(first)].push_back({sequence, first});
}

std::vector<std::string> DivergenceClasses::Lines() const {
  std::vector<std::pair<std::string, const std::vector<Example>*>> order;
  for (const auto& [name, examples] : classes_) order.emplace_back(name, &examples);
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.second->size() > b.second->size();
  });
  std::vector<std::string> out;
  for (const auto& [name, examples] : order) {
    const Example& e = examples->front();
    out.push_back(absl::StrCat("  ", examples->size(), "  ", name, "  (e.g. ", e.sequence, " op ",
                               e.first.op, ": kernel ", e.first.kernel, ", model ", e.first.model,
                               ")"));
  }
  return out;
}

}  // namespace ppsim::oracle
