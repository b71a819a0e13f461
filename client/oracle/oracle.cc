#include "client/oracle/oracle.h"

#include <cstdlib>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/oracle/model_run.h"
#include "server/sim/kernel_profile.h"
#include "server/sim/page_pool.h"

namespace ppsim::oracle {

namespace {

// "6.12" → {6, 12}; nullopt for anything else ("v6.15-ppc64" after the "v" is not one).
std::optional<std::pair<int, int>> Series(absl::string_view s) {
  std::vector<absl::string_view> parts = absl::StrSplit(s, '.');
  int major = 0, minor = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &major) ||
      !absl::SimpleAtoi(parts[1], &minor)) {
    return std::nullopt;
  }
  return std::make_pair(major, minor);
}

std::string Words(absl::string_view line) {
  const std::vector<absl::string_view> words =
      absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  return absl::StrJoin(words, " ");
}

}  // namespace

absl::StatusOr<std::string> ProfileForSeries(absl::string_view series) {
  const std::string exact = absl::StrCat("v", series);
  if (sim::FindProfile(exact).ok()) return exact;
  const std::optional<std::pair<int, int>> want = Series(series);
  if (!want) return absl::InvalidArgumentError(absl::StrCat("series: \"", series, "\""));
  std::optional<std::pair<int, int>> best;
  std::string name;
  for (const sim::KernelProfile& p : sim::BuiltinProfiles()) {
    if (p.arch != sim::Arch::kX86_64 || p.name.empty() || p.name[0] != 'v') continue;
    const std::optional<std::pair<int, int>> v = Series(absl::string_view(p.name).substr(1));
    if (v && *v <= *want && (!best || *v > *best)) {
      best = v;
      name = p.name;
    }
  }
  if (!best) {
    return absl::InvalidArgumentError(
        absl::StrCat("profile: the model has no x86-64 profile as old as kernel ", series));
  }
  return name;
}

absl::StatusOr<SequenceResult> CompareSequence(const OpsFile& ops, const KernelRun& kernel,
                                               const std::string& profile) {
  SequenceResult r;
  r.sequence = ops.sequence;
  r.observation_path = kernel.path;
  r.kernel_version = kernel.Version();
  if (profile.empty()) {
    absl::StatusOr<std::string> p = ProfileForSeries(kernel.series);
    if (!p.ok()) return p.status();
    r.profile = *p;
  } else {
    r.profile = profile;
  }
  if (kernel.ops.size() != ops.ops.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        kernel.path, " observed ", kernel.ops.size(), " ops but ", ops.path, " has ",
        ops.ops.size(), ": not an observation of this sequence (run scripts/oracle.sh again)"));
  }
  for (size_t i = 0; i < ops.ops.size(); ++i) {
    if (Words(kernel.ops[i].line) != ops.ops[i].text) {
      return absl::InvalidArgumentError(absl::StrCat(
          kernel.path, " op ", i, " is \"", kernel.ops[i].line, "\" but ", ops.path, ":",
          ops.ops[i].line, " is \"", ops.ops[i].text, "\": not an observation of this sequence"));
    }
  }
  absl::StatusOr<std::unique_ptr<ModelRun>> run = ModelRun::Create(r.profile, ops);
  if (!run.ok()) return run.status();
  std::vector<OpObs> model;
  for (size_t i = 0; i < ops.ops.size(); ++i) {
    absl::StatusOr<OpObs> o = (*run)->Apply(ops.ops[i], static_cast<int>(i));
    if (!o.ok()) {
      return absl::Status(o.status().code(), absl::StrCat(ops.path, ": ", o.status().message()));
    }
    model.push_back(*std::move(o));
  }
  LinkSamePfns(model);
  r.ops = ops.ops.size();
  CompareOptions options;
  const IndexMap& map = (*run)->map();
  for (int p = 1; p <= map.pools(); ++p) {
    if (!(map.pool(p).flags & sim::PP_FLAG_DMA_MAP)) options.unmapped_pools.insert(p);
  }
  r.comparison = Compare(kernel.ops, model, options);
  return r;
}

absl::StatusOr<SequenceResult> CompareFiles(const std::string& ops_path,
                                            const std::string& observed_dir,
                                            const std::string& profile) {
  absl::StatusOr<OpsFile> ops = ReadOpsFile(ops_path);
  if (!ops.ok()) return ops.status();
  absl::StatusOr<KernelRun> kernel =
      ReadKernelObservation(absl::StrCat(observed_dir, "/", ops->sequence, ".json"));
  if (!kernel.ok()) return kernel.status();
  return CompareSequence(*ops, *kernel, profile);
}

std::string DefaultObservedDir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const std::string cache = xdg != nullptr && *xdg != '\0'
                                ? std::string(xdg)
                                : absl::StrCat(home != nullptr ? home : "", "/.cache");
  return absl::StrCat(cache, "/ppsim/oracle/out/6.12");
}

std::string FormatDivergence(const Divergence& d) {
  std::string s = absl::StrCat("op ", d.op, " \"", d.line, "\": ", d.field, ": kernel ", d.kernel,
                               ", model ", d.model);
  if (!d.note.empty()) absl::StrAppend(&s, " (", d.note, ")");
  return s;
}

}  // namespace ppsim::oracle
