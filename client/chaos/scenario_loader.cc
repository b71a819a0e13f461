// File: client/chaos/scenario_loader.cc
#include "client/chaos/scenario_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/chaos/bindings.h"
#include "client/chaos/generator.h"
#include "client/chaos/runner.h"
#include "client/chaos/yaml_reader.h"
#include "client/lib/op_line.h"
#include "client/lib/utf8.h"
#include "ppsim/v1/ops.pb.h"
#include "server/convert/info_convert.h"
#include "server/sim/fault_injector.h"
#include "server/sim/kernel_profile.h"
#include "server/sim/lab_config.h"
#include "server/sim/teardown_strategy.h"
#include "server/sim/types.h"

namespace ppsim::chaos {

namespace {

using google::protobuf::Descriptor;

// The message of op `name` (a field of Op's oneof), or nullptr.
const Descriptor* OpMessage(absl::string_view name) {
  if (!client::IsOpName(name)) return nullptr;
  const auto* f = v1::Op::descriptor()->FindFieldByName(std::string(name));
  return f == nullptr ? nullptr : f->message_type();
}

// Whether `key` (possibly dotted: expect.pfn) names a field of op message `m`.
bool IsOpField(const Descriptor* m, absl::string_view key) {
  const std::string top(key.substr(0, key.find('.')));
  return m->FindFieldByName(top) != nullptr;
}

bool IsViolationId(absl::string_view id) {
  int n = 0;
  return id.size() == 5 && absl::StartsWith(id, "PP") && absl::SimpleAtoi(id.substr(2), &n) &&
         n >= 1 && n <= 17;
}

std::string Path(absl::string_view parent, absl::string_view child) {
  return absl::StrCat(parent, parent.empty() ? "" : ".", child);
}
std::string Index(absl::string_view parent, size_t i) { return absl::StrCat(parent, "[", i, "]"); }

bool IsOpLineKey(absl::string_view k) { return k == "op" || k == "repeat" || k == "as" || k == "ctx"; }

// Words of an op line for the checks that can run before $references are resolved: the op
// name, then the keys of key=value words (a bare word is a bool key).
std::vector<std::string> LineKeys(absl::string_view line, std::string* op) {
  std::vector<std::string> keys;
  bool first = true;
  for (absl::string_view w : absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
    if (absl::StartsWith(w, "#")) break;
    if (first) {
      *op = std::string(w);
      first = false;
      continue;
    }
    if (absl::StartsWith(w, "@") || absl::StartsWith(w, "\"")) continue;
    keys.push_back(std::string(w.substr(0, w.find('='))));
  }
  return keys;
}


// The field that `key` (possibly dotted: expect.pfn) names under op message `m`, or nullptr.
const google::protobuf::FieldDescriptor* OpField(const Descriptor* m, absl::string_view key) {
  const google::protobuf::FieldDescriptor* f = nullptr;
  for (absl::string_view part : absl::StrSplit(key, '.')) {
    if (m == nullptr) return nullptr;
    f = m->FindFieldByName(std::string(part));
    if (f == nullptr) return nullptr;
    m = f->message_type();
  }
  return f;
}

// `word` with every $reference replaced by a value of the type it resolves to at run time
// (bindings.h): a page handle for .pages, a DMA address for .dma, an id for the rest. A bare
// $NAME resolves to a handle or an id depending on the op bound to NAME, so it gets the type
// of the field it sets (PageHandle and FragArg fields take a handle). The run substitutes the
// real values; this only lets the load check everything else in the word.
std::string WithPlaceholders(absl::string_view word, const Descriptor* m) {
  const google::protobuf::FieldDescriptor* f =
      OpField(m, word.substr(0, std::min(word.find('='), word.size())));
  const bool wants_handle = f != nullptr && f->message_type() != nullptr;
  std::string out;
  for (size_t i = 0; i < word.size();) {
    if (word[i] != '$') {
      out.push_back(word[i++]);
      continue;
    }
    absl::StatusOr<std::vector<Reference>> refs = FindReferences(word.substr(i));
    if (!refs.ok() || refs->empty()) return std::string(word);  // reported by CheckOpLine
    const Reference& ref = refs->front();
    if (ref.accessor == "pages" || (ref.accessor.empty() && wants_handle)) {
      out += "0x1/1";
    } else if (ref.accessor == "dma") {
      out += "0x1000";
    } else {
      out += "1";
    }
    size_t len = 1 + ref.name.size();
    if (!ref.accessor.empty()) len += 1 + ref.accessor.size();
    if (ref.index >= 0) len = word.find(']', i + len) + 1 - i;
    i += len;
  }
  return out;
}

class Loader {
 public:
  explicit Loader(std::string file) : r_(std::move(file)) {}

  absl::StatusOr<Scenario> Load(const YAML::Node& root);

 private:
  absl::Status LoadLab(const YAML::Node& n, const std::string& profile, LabSpec* lab);
  absl::Status LoadProfileSwitches(const YAML::Node& sw, const std::string& profile,
                                   LabSpec* lab);
  absl::Status LoadExpect(const YAML::Node& n, Scenario* s);
  absl::Status LoadIds(const YAML::Node& n, const std::string& path, std::vector<std::string>* out);
  absl::Status LoadStep(const YAML::Node& n, const std::string& path, Step* step);
  absl::Status CheckOpLine(const YAML::Node& at, const std::string& path, const std::string& line);
  absl::Status LoadChaos(const YAML::Node& n, ChaosSpec* chaos);
  absl::Status LoadStrategy(const YAML::Node& n, const std::string& path, std::string* out);
  absl::Status CheckLab(const YAML::Node& root, const Scenario& s);

  struct Binding {
    std::string path;  // steps[i]
    int line = 0;
  };
  YamlReader r_;
  std::map<std::string, Binding> bound_;  // names bound by the steps read so far
};

std::string ProfileNames() {
  std::vector<std::string> names;
  for (const sim::KernelProfile& p : sim::BuiltinProfiles()) names.push_back(p.name);
  return absl::StrJoin(names, ", ");
}

// Profile switch names as sim::KernelProfile::ApplySwitch accepts them.
bool IsProfileSwitch(absl::string_view name) {
  for (const sim::ProfileSwitchInfo& i : sim::ProfileSwitches()) {
    if (i.name == name) return true;
  }
  return false;
}

std::string ProfileSwitchNames() {
  std::vector<std::string> names;
  for (const sim::ProfileSwitchInfo& i : sim::ProfileSwitches()) names.emplace_back(i.name);
  return absl::StrJoin(names, ", ");
}

absl::Status Loader::LoadStrategy(const YAML::Node& n, const std::string& path, std::string* out) {
  absl::StatusOr<std::string> v = r_.String(n, path);
  if (!v.ok()) return v.status();
  if (absl::StatusOr<const sim::StrategyInfo*> st = sim::FindStrategy(*v); !st.ok()) {
    return r_.Expected(n, path,
                       "a teardown strategy (legacy, scan, items, dma-tracking, tce-wait, "
                       "release-on-destroy)");
  }
  *out = *v;
  return absl::OkStatus();
}

absl::Status Loader::LoadLab(const YAML::Node& n, const std::string& profile, LabSpec* lab) {
  if (absl::Status s = r_.Mapping(n, "lab", {"ram", "iommu", "strict", "cpus", "numa_nodes",
                                             "scan_rate", "seed", "profile_switches",
                                             "default_strategy"});
      !s.ok()) {
    return s;
  }
  if (n["ram"]) {
    absl::StatusOr<uint64_t> v = r_.Size(n["ram"], "lab.ram");
    if (!v.ok()) return v.status();
    // sim::LabConfig::Validate's rule, said here at the key: the buddy allocator hands out
    // whole pages (types.h kPageSize), so 12.3T (not a page multiple) cannot be a lab.
    if (*v == 0 || *v % sim::kPageSize != 0) {
      return r_.Error(n["ram"], "lab.ram",
                      absl::StrCat("expected a positive multiple of ", sim::kPageSize,
                                   " bytes (the page size), got \"", n["ram"].Scalar(), "\" (",
                                   *v, " bytes)"));
    }
    if (*v > sim::LabConfig::kMaxRamBytes) {
      return r_.Error(n["ram"], "lab.ram",
                      absl::StrCat("expected at most 16T (", sim::LabConfig::kMaxRamBytes,
                                   " bytes), got \"", n["ram"].Scalar(), "\""));
    }
    lab->ram_bytes = *v;
  }
  if (n["iommu"]) {
    absl::StatusOr<std::string> v = r_.String(n["iommu"], "lab.iommu");
    if (!v.ok()) return v.status();
    sim::IommuModel model;
    if (!sim::ParseIommuModel(*v, &model).ok()) {
      return r_.Expected(n["iommu"], "lab.iommu", "intel, amd, arm-smmu, ppc-ddw or passthrough");
    }
    lab->iommu_model = *v;
  }
  if (n["strict"]) {
    absl::StatusOr<bool> v = r_.Bool(n["strict"], "lab.strict");
    if (!v.ok()) return v.status();
    lab->strict = *v;
  }
  for (const char* key : {"cpus", "numa_nodes"}) {
    if (!n[key]) continue;
    absl::StatusOr<uint64_t> v = r_.UInt(n[key], Path("lab", key), /*positive=*/true);
    if (!v.ok()) return v.status();
    (std::string(key) == "cpus" ? lab->cpus : lab->numa_nodes) = static_cast<uint32_t>(*v);
  }
  if (const YAML::Node rate = n["scan_rate"]) {
    // A preset of the measured scan rates (sim::ScanRatePresets) or a number of ns per pfn.
    absl::StatusOr<std::string> v = r_.String(rate, "lab.scan_rate");
    if (!v.ok()) return v.status();
    double ns = 0;
    if (absl::StatusOr<double> preset = sim::FindScanRatePreset(*v); preset.ok()) {
      ns = *preset;
    } else if (!absl::SimpleAtod(*v, &ns) || !(ns >= 0)) {
      return r_.Expected(rate, "lab.scan_rate",
                         "x86 (Jesper's 0.39 s per 384 GB), arm64 (Yunsheng's 1.3 s per "
                         "300 GB) or a non-negative number of ns per pfn");
    }
    lab->scan_ns_per_pfn = ns;
  }
  if (n["seed"]) {
    absl::StatusOr<uint64_t> v = r_.UInt(n["seed"], "lab.seed");
    if (!v.ok()) return v.status();
    lab->seed = *v;
  }
  if (const YAML::Node sw = n["profile_switches"]) {
    if (absl::Status st = LoadProfileSwitches(sw, profile, lab); !st.ok()) return st;
  }
  if (n["default_strategy"]) {
    return LoadStrategy(n["default_strategy"], "lab.default_strategy", &lab->default_strategy);
  }
  return absl::OkStatus();
}

// Each switch is checked at its own key: the name against sim::ProfileSwitches(), the value by
// applying it to the scenario's profile (the default profile when it names none).
absl::Status Loader::LoadProfileSwitches(const YAML::Node& sw, const std::string& profile,
                                         LabSpec* lab) {
  if (!sw.IsMap()) return r_.Expected(sw, "lab.profile_switches", "a mapping of switch: value");
  absl::StatusOr<sim::KernelProfile> base =
      sim::FindProfile(profile.empty() ? sim::LabConfig{}.profile : profile);
  for (auto it = sw.begin(); it != sw.end(); ++it) {
    const std::string name = it->first.Scalar();
    const std::string path = Path("lab.profile_switches", name);
    if (!IsProfileSwitch(name)) {
      return r_.Error(it->first, path,
                      absl::StrCat("unknown switch \"", name, "\" (expected one of ",
                                   ProfileSwitchNames(), ")"));
    }
    absl::StatusOr<std::string> v = r_.String(it->second, path);
    if (!v.ok()) return v.status();
    if (name == "default_strategy") {
      if (!sim::FindStrategy(*v).ok()) {
        return r_.Expected(it->second, path,
                           "a teardown strategy (legacy, scan, items, dma-tracking, tce-wait, "
                           "release-on-destroy)");
      }
    } else if (base.ok()) {
      sim::KernelProfile p = *base;
      if (absl::Status st = p.ApplySwitch(name, *v); !st.ok()) {
        // ApplySwitch says "profile_switches.NAME: WHAT"; the path is already in ours.
        absl::string_view what = st.message();
        if (const size_t colon = what.find(": "); colon != absl::string_view::npos) {
          what.remove_prefix(colon + 2);
        }
        return r_.Error(it->second, path, what);
      }
    }
    lab->profile_switches.emplace_back(name, *v);
  }
  return absl::OkStatus();
}

absl::Status Loader::LoadIds(const YAML::Node& n, const std::string& path,
                             std::vector<std::string>* out) {
  if (absl::Status s = r_.Sequence(n, path); !s.ok()) return s;
  for (size_t i = 0; i < n.size(); ++i) {
    absl::StatusOr<std::string> id = r_.String(n[i], Index(path, i));
    if (!id.ok()) return id.status();
    if (!IsViolationId(*id)) return r_.Expected(n[i], Index(path, i), "a violation id PP001..PP018");
    out->push_back(*id);
  }
  return absl::OkStatus();
}

absl::Status Loader::LoadExpect(const YAML::Node& n, Scenario* s) {
  if (!n.IsMap()) return r_.Expected(n, "expect", "a mapping of strategy (or default): expectation");
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string path = Path("expect", key);
    const bool listed = std::find(s->strategies.begin(), s->strategies.end(), key) !=
                        s->strategies.end();
    if (key != "default" && !listed) {
      return r_.Error(it->first, path,
                      absl::StrCat("expected `default` or one of the scenario's strategies (",
                                   absl::StrJoin(s->strategies, ", "), ")"));
    }
    Expectation e;
    e.loc = r_.Loc(it->first);
    const YAML::Node v = it->second;
    if (v.IsScalar() && v.Scalar() == "none") {  // shorthand: `legacy: none`
      e.none = true;
    } else {
      if (absl::Status st = r_.Mapping(v, path, {"occur", "none"}); !st.ok()) return st;
      if (v["occur"]) {
        if (absl::Status st = LoadIds(v["occur"], Path(path, "occur"), &e.occur); !st.ok()) return st;
      }
      if (const YAML::Node none = v["none"]) {
        if (none.IsSequence()) {
          if (absl::Status st = LoadIds(none, Path(path, "none"), &e.forbid); !st.ok()) return st;
        } else {
          absl::StatusOr<bool> b = r_.Bool(none, Path(path, "none"));
          if (!b.ok()) {
            return r_.Expected(none, Path(path, "none"), "true or a list of violation ids");
          }
          e.none = *b;
        }
      }
    }
    s->expect[key] = std::move(e);
  }
  return absl::OkStatus();
}

absl::Status Loader::CheckOpLine(const YAML::Node& at, const std::string& path,
                                 const std::string& line) {
  absl::StatusOr<std::vector<Reference>> refs = FindReferences(line);
  if (!refs.ok()) return r_.Error(at, path, refs.status().message());
  for (const Reference& ref : *refs) {
    if (!bound_.contains(ref.name)) {
      return r_.Error(at, path, absl::StrCat("$", ref.name, ": no earlier step has `as: ",
                                             ref.name, "`"));
    }
  }
  if (refs->empty()) {
    absl::StatusOr<v1::Op> op = client::ParseOpLine(line);
    if (!op.ok()) return r_.Error(at, path, op.status().message());
    if (op->op_case() == v1::Op::OP_NOT_SET) return r_.Expected(at, path, "an op line");
    return absl::OkStatus();
  }
  std::string name;
  const std::vector<std::string> keys = LineKeys(line, &name);
  const Descriptor* m = OpMessage(name);
  if (m == nullptr) return r_.Error(at, path, absl::StrCat("unknown op \"", name, "\""));
  for (const std::string& k : keys) {
    if (!IsOpField(m, k)) {
      return r_.Error(at, path, absl::StrCat(name, " has no field ", k));
    }
  }
  // Everything else (values, types, the context) as ParseOpLine will see it, with each
  // reference standing in as a placeholder of its type: a bad `@softirg` or `count=lots` next
  // to a $reference is a load error, not a failure after the steps before it ran.
  absl::StatusOr<std::vector<std::string>> split = client::SplitOpWords(line);
  if (!split.ok()) return r_.Error(at, path, split.status().message());
  const std::vector<std::string>& words = *split;
  std::vector<std::string> filled;
  for (const std::string& w : words) filled.push_back(WithPlaceholders(w, m));
  absl::StatusOr<v1::Op> op = client::ParseOpWords(filled);
  if (op.ok()) return absl::OkStatus();
  // Errors name the word ("token N \"WORD\": ..."): name the one the user wrote.
  std::string message(op.status().message());
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string shown = absl::StrCat("token ", i + 1, " \"", filled[i], "\"");
    if (filled[i] == words[i] || !absl::StartsWith(message, shown)) continue;
    message = absl::StrCat("token ", i + 1, " \"", words[i], "\"", message.substr(shown.size()),
                           " (checked with a placeholder for each $reference: \"", filled[i], "\")");
  }
  return r_.Error(at, path, message);
}

// A field value of the mapping form as op-line text.
std::string ValueText(const YAML::Node& v) {
  auto scalar = [](const std::string& s) {
    return s.find_first_of(" \t") == std::string::npos ? s : absl::StrCat("\"", s, "\"");
  };
  if (v.IsSequence()) {
    std::vector<std::string> parts;
    for (const YAML::Node& x : v) parts.push_back(x.IsScalar() ? x.Scalar() : "?");
    return absl::StrJoin(parts, ",");
  }
  return scalar(v.Scalar());
}

absl::Status Loader::LoadStep(const YAML::Node& n, const std::string& path, Step* step) {
  step->loc = r_.Loc(n);
  if (n.IsScalar()) {
    step->op_line = n.Scalar();
    return CheckOpLine(n, path, step->op_line);
  }
  if (!n.IsMap() || !n["op"]) {
    return r_.Expected(n, path, "an op line or a mapping with `op:`");
  }
  absl::StatusOr<std::string> op = r_.String(n["op"], Path(path, "op"));
  if (!op.ok()) return op.status();
  std::string name;
  (void)LineKeys(*op, &name);
  const Descriptor* m = OpMessage(name);
  if (m == nullptr) return r_.Expected(n["op"], Path(path, "op"), "an op name (ppctl apply --list)");
  std::string line = *op;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (IsOpLineKey(key)) continue;
    if (!IsOpField(m, key)) {
      return r_.Error(it->first, Path(path, key),
                      absl::StrCat("unknown key (expected op, repeat, as, ctx or a field of ",
                                   name, ")"));
    }
    if (it->second.IsMap()) return r_.Expected(it->second, Path(path, key), "a value or a list");
    absl::StrAppend(&line, " ", key, "=", ValueText(it->second));
  }
  if (n["ctx"]) {
    absl::StatusOr<std::string> ctx = r_.String(n["ctx"], Path(path, "ctx"));
    if (!ctx.ok()) return ctx.status();
    absl::StrAppend(&line, " @", *ctx);
  }
  if (n["repeat"]) {
    absl::StatusOr<uint64_t> v = r_.UInt(n["repeat"], Path(path, "repeat"), /*positive=*/true);
    if (!v.ok()) return v.status();
    if (*v > 1'000'000) return r_.Expected(n["repeat"], Path(path, "repeat"), "at most 1000000");
    step->repeat = static_cast<uint32_t>(*v);
  }
  step->op_line = line;
  if (absl::Status s = CheckOpLine(n, path, line); !s.ok()) return s;
  if (n["as"]) {
    absl::StatusOr<std::string> as = r_.String(n["as"], Path(path, "as"));
    if (!as.ok()) return as.status();
    absl::StatusOr<std::vector<Reference>> self = FindReferences(absl::StrCat("$", *as));
    if (as->empty() || !self.ok() || self->size() != 1 || self->front().name != *as) {
      return r_.Expected(n["as"], Path(path, "as"), "a name of letters, digits and _");
    }
    // A second `as: NAME` would silently rebind NAME for every later $NAME.
    if (auto first = bound_.find(*as); first != bound_.end()) {
      return r_.Error(n["as"], Path(path, "as"),
                      absl::StrCat("\"", *as, "\" is already bound by ", first->second.path,
                                   " at line ", first->second.line,
                                   " (every `as:` name must be unique)"));
    }
    step->as = *as;
    bound_[*as] = Binding{.path = path, .line = YamlReader::Line(n["as"])};
  }
  return absl::OkStatus();
}

absl::Status Loader::LoadChaos(const YAML::Node& n, ChaosSpec* c) {
  c->loc = r_.Loc(n);
  if (absl::Status s = r_.Mapping(n, "chaos", {"weights", "ops", "duration", "faults"}); !s.ok()) {
    return s;
  }
  if (const YAML::Node w = n["weights"]) {
    if (!w.IsMap()) return r_.Expected(w, "chaos.weights", "a mapping of op name: weight");
    for (auto it = w.begin(); it != w.end(); ++it) {
      const std::string path = Path("chaos.weights", it->first.Scalar());
      if (!IsChaosKind(it->first.Scalar())) {
        return r_.Expected(it->first, path, absl::StrCat("a chaos op kind (", ChaosKindList(), ")"));
      }
      absl::StatusOr<double> v = r_.Number(it->second, path);
      if (!v.ok()) return v.status();
      if (*v < 0 || *v > 1e9) return r_.Expected(it->second, path, "a weight in 0..1e9");
      c->weights[it->first.Scalar()] = *v;
    }
    if (absl::Status st = ValidateWeights(*c); !st.ok()) {
      return r_.Error(w, "chaos.weights", "every weight is 0 (nothing to generate)");
    }
  }
  if (n["ops"]) {
    absl::StatusOr<uint64_t> v = r_.UInt(n["ops"], "chaos.ops", /*positive=*/true);
    if (!v.ok()) return v.status();
    c->ops = *v;
  }
  if (n["duration"]) {
    absl::StatusOr<int64_t> v = r_.Duration(n["duration"], "chaos.duration");
    if (!v.ok()) return v.status();
    c->duration_ns = *v;
  }
  if (const YAML::Node f = n["faults"]) {
    if (absl::Status s = r_.Sequence(f, "chaos.faults"); !s.ok()) return s;
    const Descriptor* set_fault = OpMessage("set_fault");
    for (size_t i = 0; i < f.size(); ++i) {
      const std::string path = Index("chaos.faults", i);
      if (!f[i].IsMap() || !f[i]["site"]) {
        return r_.Expected(f[i], path, "a mapping with `site:` and set_fault fields");
      }
      std::map<std::string, std::string> fault;
      for (auto it = f[i].begin(); it != f[i].end(); ++it) {
        const std::string key = it->first.Scalar();
        if (set_fault->FindFieldByName(key) == nullptr) {
          return r_.Error(it->first, Path(path, key), "unknown key (expected a set_fault field)");
        }
        absl::StatusOr<std::string> v = r_.String(it->second, Path(path, key));
        if (!v.ok()) return v.status();
        fault[key] = *v;
      }
      // The values as set_fault will see them (types, ranges, the site's name).
      std::string line = "set_fault";
      for (const auto& [key, value] : fault) {
        const bool quote = value.find_first_of(" \t") != std::string::npos;
        absl::StrAppend(&line, " ", key, "=", quote ? "\"" : "", value, quote ? "\"" : "");
      }
      absl::StatusOr<v1::Op> op = client::ParseOpLine(line);
      if (!op.ok()) return r_.Error(f[i], path, op.status().message());
      if (!sim::ParseFaultSite(fault["site"]).ok()) {
        std::vector<std::string> sites;
        for (const sim::FaultSiteInfo& site : sim::FaultSites()) sites.emplace_back(site.name);
        return r_.Expected(f[i]["site"], Path(path, "site"),
                           absl::StrCat("a fault site (", absl::StrJoin(sites, ", "), ")"));
      }
      const double p = op->set_fault().has_probability() ? op->set_fault().probability() : 1.0;
      if (p < 0 || p > 1) return r_.Expected(f[i]["probability"], Path(path, "probability"), "0..1");
      c->faults.push_back(std::move(fault));
    }
  }
  return absl::OkStatus();
}

// The lab as the daemon will build it, for every run. Validate's messages start with the
// field ("config.numa_nodes: ..."): the error points at that key when the file has it.
absl::Status Loader::CheckLab(const YAML::Node& root, const Scenario& s) {
  std::vector<std::string> runs = s.strategies;
  if (runs.empty()) runs.push_back("");
  const YAML::Node lab = root["lab"];
  for (const std::string& strategy : runs) {
    absl::StatusOr<sim::LabConfig> c = convert::LabConfigFromProto(LabConfigFor(s, strategy));
    if (c.ok()) continue;
    absl::string_view message = c.status().message();
    absl::ConsumePrefix(&message, "config.");
    const absl::string_view field = message.substr(0, message.find_first_of(":."));
    static const std::map<absl::string_view, absl::string_view> kKey = {
        {"ram_bytes", "ram"}, {"numa_nodes", "numa_nodes"},     {"cpus", "cpus"},
        {"iommu_model", "iommu"}, {"default_strategy", "default_strategy"},
        {"profile_switches", "profile_switches"}};
    const std::string run =
        strategy.empty() ? "" : absl::StrCat(" (in the run under strategy ", strategy, ")");
    if (field == "profile" && root["profile"]) {
      return r_.Error(root["profile"], "profile", absl::StrCat(message, run));
    }
    if (auto k = kKey.find(field); k != kKey.end() && lab && lab.IsMap() &&
                                   lab[std::string(k->second)]) {
      return r_.Error(lab[std::string(k->second)], Path("lab", k->second),
                      absl::StrCat(message, run));
    }
    return r_.Error(lab ? lab : root, "lab", absl::StrCat(c.status().message(), run));
  }
  return absl::OkStatus();
}

absl::StatusOr<Scenario> Loader::Load(const YAML::Node& root) {
  Scenario s;
  s.file = r_.file();
  if (absl::Status st = r_.Mapping(root, "", {"name", "description", "profile", "lab",
                                             "strategies", "expect", "steps", "chaos",
                                             "liveness", "sometimes"});
      !st.ok()) {
    return st;
  }
  if (!root["name"]) return r_.Error(root, "name", "missing (every scenario has a name)");
  absl::StatusOr<std::string> name = r_.String(root["name"], "name");
  if (!name.ok()) return name.status();
  s.name = *name;
  if (root["description"]) {
    absl::StatusOr<std::string> v = r_.String(root["description"], "description");
    if (!v.ok()) return v.status();
    s.description = *v;
  }
  if (root["profile"]) {
    absl::StatusOr<std::string> v = r_.String(root["profile"], "profile");
    if (!v.ok()) return v.status();
    if (!sim::FindProfile(*v).ok()) {
      return r_.Error(root["profile"], "profile",
                      absl::StrCat("unknown kernel profile \"", *v, "\" (expected one of ",
                                   ProfileNames(), ")"));
    }
    s.profile = *v;
  }
  if (root["lab"]) {
    if (absl::Status st = LoadLab(root["lab"], s.profile, &s.lab); !st.ok()) return st;
  }
  if (const YAML::Node st = root["strategies"]) {
    if (absl::Status e = r_.Sequence(st, "strategies"); !e.ok()) return e;
    for (size_t i = 0; i < st.size(); ++i) {
      std::string strategy;
      if (absl::Status e = LoadStrategy(st[i], Index("strategies", i), &strategy); !e.ok()) return e;
      s.strategies.push_back(strategy);
    }
  }
  if (root["expect"]) {
    if (absl::Status e = LoadExpect(root["expect"], &s); !e.ok()) return e;
  }
  if (!root["steps"] && !root["chaos"]) {
    return r_.Error(root, "steps", "missing (a scenario needs steps or a chaos block)");
  }
  if (const YAML::Node steps = root["steps"]) {
    if (absl::Status e = r_.Sequence(steps, "steps"); !e.ok()) return e;
    for (size_t i = 0; i < steps.size(); ++i) {
      Step step;
      if (absl::Status e = LoadStep(steps[i], Index("steps", i), &step); !e.ok()) return e;
      s.steps.push_back(std::move(step));
    }
  }
  if (root["chaos"]) {
    s.chaos.emplace();
    if (absl::Status e = LoadChaos(root["chaos"], &*s.chaos); !e.ok()) return e;
  }
  if (const YAML::Node l = root["liveness"]) {
    if (absl::Status e = r_.Mapping(l, "liveness", {"advance"}); !e.ok()) return e;
    if (!l["advance"]) return r_.Error(l, "liveness.advance", "missing (how long to advance)");
    absl::StatusOr<int64_t> d = r_.Duration(l["advance"], "liveness.advance");
    if (!d.ok()) return d.status();
    s.liveness = LivenessSpec{.advance_ns = *d, .loc = r_.Loc(l)};
  }
  if (const YAML::Node so = root["sometimes"]) {
    if (absl::Status e = r_.Sequence(so, "sometimes"); !e.ok()) return e;
    for (size_t i = 0; i < so.size(); ++i) {
      absl::StatusOr<std::string> v = r_.String(so[i], Index("sometimes", i));
      if (!v.ok()) return v.status();
      if (!IsSometimesGoal(*v)) {
        return r_.Expected(so[i], Index("sometimes", i),
                           "a goal: unbind_while_inflight, pool_detached_with_inflight, "
                           "fault_fired, fault_fired:SITE or violation:PPnnn");
      }
      s.sometimes.push_back(*v);
    }
  }
  if (absl::Status e = CheckLab(root, s); !e.ok()) return e;
  return s;
}

}  // namespace

absl::StatusOr<Scenario> LoadScenarioText(absl::string_view text, const std::string& file) {
  if (absl::Status s = client::CheckUtf8(text, file); !s.ok()) return s;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ":", e.mark.line + 1, ": not valid YAML or JSON: ", e.msg));
  }
  // yaml-cpp gives an empty (or comments-only) document a null node with no mark (line 0).
  if (root.IsNull() && root.Mark().line < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        file, ":1: the file is empty (expected a mapping with name: and steps:), got nothing"));
  }
  try {
    return Loader(file).Load(root);
  } catch (const YAML::Exception& e) {  // yaml-cpp throws on some malformed node accesses
    return absl::InvalidArgumentError(
        absl::StrCat(file, ":", e.mark.line + 1, ": ", e.msg));
  }
}

absl::StatusOr<Scenario> LoadScenarioFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read the scenario file"));
  std::stringstream text;
  text << in.rdbuf();
  return LoadScenarioText(text.str(), path);
}

v1::LabConfig LabConfigFor(const Scenario& s, const std::string& strategy) {
  v1::LabConfig c;
  if (!s.profile.empty()) c.set_profile(s.profile);
  const LabSpec& lab = s.lab;
  if (lab.ram_bytes) c.set_ram_bytes(*lab.ram_bytes);
  if (lab.iommu_model) c.set_iommu_model(*lab.iommu_model);
  if (lab.strict) c.set_iommu_strict(*lab.strict);
  if (lab.cpus) c.set_cpus(*lab.cpus);
  if (lab.numa_nodes) c.set_numa_nodes(*lab.numa_nodes);
  if (lab.scan_ns_per_pfn) c.set_scan_ns_per_pfn(*lab.scan_ns_per_pfn);
  c.set_seed(lab.seed);
  for (const auto& [name, value] : lab.profile_switches) {
    v1::ProfileSwitch* sw = c.add_profile_switches();
    sw->set_name(name);
    sw->set_value(value);
  }
  const std::string& chosen = strategy.empty() ? lab.default_strategy : strategy;
  if (!chosen.empty()) c.set_default_strategy(chosen);
  return c;
}

}  // namespace ppsim::chaos
