// File: client/chaos/scenario_loader.cc
#include "client/chaos/scenario_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/chaos/bindings.h"
#include "client/chaos/yaml_reader.h"
#include "client/lib/op_line.h"
#include "ppsim/v1/ops.pb.h"
#include "server/service/info_convert.h"
#include "server/sim/teardown_strategy.h"

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

class Loader {
 public:
  explicit Loader(std::string file) : r_(std::move(file)) {}

  absl::StatusOr<Scenario> Load(const YAML::Node& root);

 private:
  absl::Status LoadLab(const YAML::Node& n, LabSpec* lab);
  absl::Status LoadExpect(const YAML::Node& n, Scenario* s);
  absl::Status LoadIds(const YAML::Node& n, const std::string& path, std::vector<std::string>* out);
  absl::Status LoadStep(const YAML::Node& n, const std::string& path, Step* step);
  absl::Status CheckOpLine(const YAML::Node& at, const std::string& path, const std::string& line);
  absl::Status LoadChaos(const YAML::Node& n, ChaosSpec* chaos);
  absl::Status LoadStrategy(const YAML::Node& n, const std::string& path, std::string* out);
  absl::Status CheckLab(const YAML::Node& at, const Scenario& s);

  YamlReader r_;
  std::set<std::string> bound_;  // names bound by the steps read so far
};

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

absl::Status Loader::LoadLab(const YAML::Node& n, LabSpec* lab) {
  if (absl::Status s = r_.Mapping(n, "lab", {"ram", "iommu", "strict", "cpus", "numa_nodes",
                                             "seed", "profile_switches", "default_strategy"});
      !s.ok()) {
    return s;
  }
  if (n["ram"]) {
    absl::StatusOr<uint64_t> v = r_.Size(n["ram"], "lab.ram");
    if (!v.ok()) return v.status();
    lab->ram_bytes = *v;
  }
  if (n["iommu"]) {
    absl::StatusOr<std::string> v = r_.String(n["iommu"], "lab.iommu");
    if (!v.ok()) return v.status();
    if (*v != "intel" && *v != "ppc-ddw" && *v != "passthrough") {
      return r_.Expected(n["iommu"], "lab.iommu", "intel, ppc-ddw or passthrough");
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
  if (n["seed"]) {
    absl::StatusOr<uint64_t> v = r_.UInt(n["seed"], "lab.seed");
    if (!v.ok()) return v.status();
    lab->seed = *v;
  }
  if (const YAML::Node sw = n["profile_switches"]) {
    if (!sw.IsMap()) return r_.Expected(sw, "lab.profile_switches", "a mapping of switch: value");
    for (auto it = sw.begin(); it != sw.end(); ++it) {
      const std::string path = Path("lab.profile_switches", it->first.Scalar());
      absl::StatusOr<std::string> v = r_.String(it->second, path);
      if (!v.ok()) return v.status();
      lab->profile_switches.emplace_back(it->first.Scalar(), *v);
    }
  }
  if (n["default_strategy"]) {
    return LoadStrategy(n["default_strategy"], "lab.default_strategy", &lab->default_strategy);
  }
  return absl::OkStatus();
}

absl::Status Loader::LoadIds(const YAML::Node& n, const std::string& path,
                             std::vector<std::string>* out) {
  if (absl::Status s = r_.Sequence(n, path); !s.ok()) return s;
  for (size_t i = 0; i < n.size(); ++i) {
    absl::StatusOr<std::string> id = r_.String(n[i], Index(path, i));
    if (!id.ok()) return id.status();
    if (!IsViolationId(*id)) return r_.Expected(n[i], Index(path, i), "a violation id PP001..PP017");
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
    if (!bound_.count(ref.name)) {
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
  return absl::OkStatus();
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
    step->as = *as;
    bound_.insert(*as);
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
      if (!client::IsOpName(it->first.Scalar())) return r_.Expected(it->first, path, "an op name");
      absl::StatusOr<double> v = r_.Number(it->second, path);
      if (!v.ok()) return v.status();
      c->weights[it->first.Scalar()] = *v;
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
      c->faults.push_back(std::move(fault));
    }
  }
  return absl::OkStatus();
}

absl::Status Loader::CheckLab(const YAML::Node& at, const Scenario& s) {
  std::vector<std::string> runs = s.strategies;
  if (runs.empty()) runs.push_back("");
  for (const std::string& strategy : runs) {
    absl::StatusOr<sim::LabConfig> c = service::LabConfigFromProto(LabConfigFor(s, strategy));
    if (!c.ok()) return r_.Error(at, "lab", c.status().message());
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
    s.profile = *v;
  }
  if (root["lab"]) {
    if (absl::Status st = LoadLab(root["lab"], &s.lab); !st.ok()) return st;
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
      s.sometimes.push_back(*v);
    }
  }
  if (absl::Status e = CheckLab(root["lab"] ? root["lab"] : root, s); !e.ok()) return e;
  return s;
}

}  // namespace

absl::StatusOr<Scenario> LoadScenarioText(absl::string_view text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ":", e.mark.line + 1, ": not valid YAML or JSON: ", e.msg));
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
