// File: client/chaos/report_reader.cc
#include "client/chaos/report_reader.h"

#include "client/lib/utf8.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ppsim::chaos {
namespace {

using Json = nlohmann::json;

// Reads fields of one document, turning every mismatch into one INVALID_ARGUMENT that names
// the file and the field path.
class Reader {
 public:
  explicit Reader(absl::string_view file) : file_(file) {}

  absl::Status Error(const std::string& path, absl::string_view what, const Json& got) const {
    std::string shown = got.dump();
    if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
    return absl::InvalidArgumentError(
        absl::StrCat(file_.empty() ? "" : absl::StrCat(file_, ": "), path, ": expected ", what,
                     ", got ", shown));
  }
  absl::Status Missing(const std::string& path) const {
    return absl::InvalidArgumentError(
        absl::StrCat(file_.empty() ? "" : absl::StrCat(file_, ": "), path, ": missing"));
  }

  // Required unless `optional`; absent optional fields leave *out untouched.
  absl::Status String(const Json& o, const char* key, const std::string& at, std::string* out,
                      bool optional = false) const {
    if (!o.contains(key)) return optional ? absl::OkStatus() : Missing(at + key);
    if (!o[key].is_string()) return Error(at + key, "a string", o[key]);
    *out = o[key].get<std::string>();
    return absl::OkStatus();
  }
  absl::Status Bool(const Json& o, const char* key, const std::string& at, bool* out) const {
    if (!o.contains(key)) return Missing(at + key);
    if (!o[key].is_boolean()) return Error(at + key, "true or false", o[key]);
    *out = o[key].get<bool>();
    return absl::OkStatus();
  }
  absl::Status Double(const Json& o, const char* key, const std::string& at, double* out,
                      bool optional = false) const {
    if (!o.contains(key)) return optional ? absl::OkStatus() : Missing(at + key);
    if (!o[key].is_number()) return Error(at + key, "a number", o[key]);
    *out = o[key].get<double>();
    return absl::OkStatus();
  }
  template <class T>
  absl::Status Int(const Json& v, const std::string& at, T* out) const {
    if (!v.is_number_integer()) return Error(at, "an integer", v);
    if constexpr (std::is_unsigned_v<T>) {
      if (!v.is_number_unsigned()) return Error(at, "a non-negative integer", v);
      *out = static_cast<T>(v.get<uint64_t>());
    } else {
      *out = static_cast<T>(v.get<int64_t>());
    }
    return absl::OkStatus();
  }
  template <class T>
  absl::Status Int(const Json& o, const char* key, const std::string& at, T* out,
                   bool optional = false) const {
    if (!o.contains(key)) return optional ? absl::OkStatus() : Missing(at + key);
    return Int(o[key], at + key, out);
  }
  absl::Status Array(const Json& o, const char* key, const std::string& at, const Json** out,
                     bool optional = false) const {
    static const Json kEmpty = Json::array();
    *out = &kEmpty;
    if (!o.contains(key)) return optional ? absl::OkStatus() : Missing(at + key);
    if (!o[key].is_array()) return Error(at + key, "an array", o[key]);
    *out = &o[key];
    return absl::OkStatus();
  }

 private:
  std::string file_;
};

#define PPSIM_RETURN_IF_ERROR(expr)              \
  do {                                           \
    if (absl::Status _st = (expr); !_st.ok()) {  \
      return _st;                                \
    }                                            \
  } while (0)

absl::StatusOr<Verdict> ParseVerdict(const Reader& rd, const Json& v, const std::string& at) {
  for (Verdict x : {Verdict::kPass, Verdict::kSafety, Verdict::kLiveness, Verdict::kUnknown}) {
    if (v.is_string() && v.get<std::string>() == VerdictName(x)) return x;
  }
  return rd.Error(at, "pass, safety, liveness or unknown", v);
}

// The report keeps the op line of each violation's first op; they go back into a trace that
// holds only those lines, so that a re-rendered report shows them too. A first op beyond this
// index (a very long chaos run) keeps only its index.
constexpr uint64_t kMaxSparseTrace = 1 << 20;

absl::Status ParseRun(const Reader& rd, const Json& o, const std::string& at, RunResult* run) {
  if (!o.is_object()) return rd.Error(at.substr(0, at.size() - 1), "an object", o);
  PPSIM_RETURN_IF_ERROR(rd.String(o, "strategy", at, &run->strategy));
  if (run->strategy == "default") run->strategy.clear();
  if (!o.contains("verdict")) return rd.Missing(at + "verdict");
  absl::StatusOr<Verdict> verdict = ParseVerdict(rd, o["verdict"], at + "verdict");
  if (!verdict.ok()) return verdict.status();
  run->verdict = *verdict;

  const Json* list;
  PPSIM_RETURN_IF_ERROR(rd.Array(o, "violations", at, &list));
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& v = (*list)[i];
    const std::string vat = absl::StrCat(at, "violations[", i, "].");
    if (!v.is_object()) return rd.Error(vat.substr(0, vat.size() - 1), "an object", v);
    ViolationSummary s;
    PPSIM_RETURN_IF_ERROR(rd.String(v, "id", vat, &s.id));
    PPSIM_RETURN_IF_ERROR(rd.String(v, "severity", vat, &s.severity));
    PPSIM_RETURN_IF_ERROR(rd.Int(v, "count", vat, &s.count));
    PPSIM_RETURN_IF_ERROR(rd.Int(v, "first_op", vat, &s.first_op));
    std::string line;
    PPSIM_RETURN_IF_ERROR(rd.String(v, "first_op_line", vat, &line, /*optional=*/true));
    if (!line.empty() && s.first_op < kMaxSparseTrace) {
      if (run->trace.size() <= s.first_op) run->trace.resize(s.first_op + 1);
      run->trace[s.first_op].line = line;
    }
    run->violations.push_back(std::move(s));
  }
  PPSIM_RETURN_IF_ERROR(rd.Array(o, "checks", at, &list));
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& c = (*list)[i];
    const std::string cat = absl::StrCat(at, "checks[", i, "].");
    if (!c.is_object()) return rd.Error(cat.substr(0, cat.size() - 1), "an object", c);
    CheckResult check;
    PPSIM_RETURN_IF_ERROR(rd.String(c, "name", cat, &check.name));
    PPSIM_RETURN_IF_ERROR(rd.Bool(c, "ok", cat, &check.ok));
    PPSIM_RETURN_IF_ERROR(rd.String(c, "message", cat, &check.message));
    run->checks.push_back(std::move(check));
  }
  std::string digest;
  PPSIM_RETURN_IF_ERROR(rd.String(o, "digest", at, &digest));
  if (digest.size() < 3 || digest.substr(0, 2) != "0x" ||
      !absl::SimpleHexAtoi(digest.substr(2), &run->digest)) {
    return rd.Error(at + "digest", "a 0x-prefixed hex string", o["digest"]);
  }
  PPSIM_RETURN_IF_ERROR(rd.Int(o, "ops", at, &run->ops));
  PPSIM_RETURN_IF_ERROR(rd.Int(o, "virtual_time_ns", at, &run->virtual_time_ns));
  PPSIM_RETURN_IF_ERROR(rd.Double(o, "host_time_s", at, &run->host_time_s));
  PPSIM_RETURN_IF_ERROR(rd.Int(o, "seed", at, &run->seed, /*optional=*/true));
  PPSIM_RETURN_IF_ERROR(rd.Int(o, "rejected_ops", at, &run->rejected_ops, true));

  if (o.contains("costs")) {
    const Json& c = o["costs"];
    const std::string cat = at + "costs.";
    if (!c.is_object()) return rd.Error(at + "costs", "an object", c);
    TeardownCosts& t = run->costs;
    PPSIM_RETURN_IF_ERROR(rd.Int(c, "drain_time_ns", cat, &t.drain_time_ns));
    PPSIM_RETURN_IF_ERROR(rd.Int(c, "max_lock_hold_ns", cat, &t.max_lock_hold_ns));
    PPSIM_RETURN_IF_ERROR(rd.Int(c, "removal_latency_ns", cat, &t.removal_latency_ns));
    PPSIM_RETURN_IF_ERROR(rd.Int(c, "memory_overhead_bytes", cat, &t.memory_overhead_bytes));
    PPSIM_RETURN_IF_ERROR(rd.Int(c, "strategy_host_ns", cat, &t.strategy_host_ns));
  }
  PPSIM_RETURN_IF_ERROR(rd.Array(o, "inflight", at, &list, true));
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& p = (*list)[i];
    const std::string pat = absl::StrCat(at, "inflight[", i, "]");
    if (!p.is_array() || p.size() != 3) return rd.Error(pat, "[op, time_ns, pages]", p);
    InflightSample s;
    PPSIM_RETURN_IF_ERROR(rd.Int(p[0], pat + "[0]", &s.op));
    PPSIM_RETURN_IF_ERROR(rd.Int(p[1], pat + "[1]", &s.time_ns));
    PPSIM_RETURN_IF_ERROR(rd.Int(p[2], pat + "[2]", &s.pages));
    run->inflight.push_back(s);
  }
  PPSIM_RETURN_IF_ERROR(rd.Array(o, "events", at, &list, true));
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& e = (*list)[i];
    const std::string eat = absl::StrCat(at, "events[", i, "].");
    if (!e.is_object()) return rd.Error(eat.substr(0, eat.size() - 1), "an object", e);
    ViolationEvent ev;
    PPSIM_RETURN_IF_ERROR(rd.String(e, "id", eat, &ev.id));
    PPSIM_RETURN_IF_ERROR(rd.Int(e, "op", eat, &ev.op));
    PPSIM_RETURN_IF_ERROR(rd.Int(e, "time_ns", eat, &ev.time_ns));
    run->events.push_back(std::move(ev));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SavedReport> ReportFromJson(absl::string_view text, absl::string_view file) {
  if (absl::Status s = client::CheckUtf8(text, file); !s.ok()) return s;
  const Reader rd(file);
  const Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file.empty() ? "" : absl::StrCat(file, ": "), "not a JSON document"));
  }
  if (!j.is_object()) return rd.Error("(document)", "an object", j);
  SavedReport out;
  std::string schema;
  PPSIM_RETURN_IF_ERROR(rd.String(j, "schema", "", &schema));
  if (schema != kReportSchema) return rd.Error("schema", kReportSchema, j["schema"]);
  ScenarioResult& r = out.result;
  PPSIM_RETURN_IF_ERROR(rd.String(j, "scenario", "", &r.scenario));
  PPSIM_RETURN_IF_ERROR(rd.String(j, "file", "", &r.file));
  PPSIM_RETURN_IF_ERROR(rd.Int(j, "seed", "", &r.seed));
  PPSIM_RETURN_IF_ERROR(rd.String(j, "target", "", &r.target));
  if (r.target == "embedded") r.target.clear();
  if (j.contains("reproduce")) {
    const Json& p = j["reproduce"];
    if (!p.is_object()) return rd.Error("reproduce", "an object", p);
    PPSIM_RETURN_IF_ERROR(rd.String(p, "command", "reproduce.", &out.context.command));
    if (p.contains("seed")) {
      uint64_t seed;
      PPSIM_RETURN_IF_ERROR(rd.Int(p, "seed", "reproduce.", &seed));
      out.context.seed = seed;
    }
    if (p.contains("ops")) {
      uint64_t ops;
      PPSIM_RETURN_IF_ERROR(rd.Int(p, "ops", "reproduce.", &ops));
      out.context.ops = ops;
    }
  }
  const Json* runs;
  PPSIM_RETURN_IF_ERROR(rd.Array(j, "runs", "", &runs));
  for (size_t i = 0; i < runs->size(); ++i) {
    RunResult run;
    PPSIM_RETURN_IF_ERROR(ParseRun(rd, (*runs)[i], absl::StrCat("runs[", i, "]."), &run));
    r.runs.push_back(std::move(run));
  }
  return out;
}

absl::StatusOr<SavedReport> ReadReportFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read the report"));
  std::stringstream text;
  text << in.rdbuf();
  return ReportFromJson(text.str(), path);
}

}  // namespace ppsim::chaos
