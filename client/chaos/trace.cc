// File: client/chaos/trace.cc
// ppsim.trace/v1 (trace.h): nlohmann_json for the records, protobuf's own JSON mapping for the
// embedded v1.Op and v1.LabConfig (the same mapping the daemon's ExportTrace uses,
// server/convert/trace_jsonl.cc), so an op line of a trace is also a line `ppctl apply` reads.
#include "client/chaos/trace.h"

#include "client/lib/utf8.h"

#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"

namespace ppsim::chaos {

namespace {

namespace pbu = google::protobuf::util;
using Json = nlohmann::ordered_json;

std::string ProtoJson(const google::protobuf::Message& m) {
  pbu::JsonPrintOptions options;
  options.preserve_proto_field_names = true;  // as ExportTrace prints ops
  std::string out;
  // Printing a well-formed message cannot fail (trace_jsonl.cc); keep the record parseable.
  if (!pbu::MessageToJsonString(m, &out, options).ok()) out = "{}";
  return out;
}

// The error every parse failure becomes: "file:LINE: FIELD: what".
class LineError {
 public:
  LineError(absl::string_view file, int line) : file_(file.empty() ? "trace" : file), line_(line) {}
  absl::Status operator()(absl::string_view field, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(file_, ":", line_, ": ", field, ": ", what));
  }

 private:
  std::string file_;
  int line_;
};

// A 64-bit value: a decimal or 0x-hex string (as written), or a JSON integer (as a human
// might type it).
absl::StatusOr<uint64_t> U64(const Json& v, absl::string_view field, const LineError& err) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  if (!v.is_string()) {
    return err(field, absl::StrCat("expected a non-negative integer or a string, got ", v.dump()));
  }
  const std::string& s = v.get_ref<const std::string&>();
  absl::string_view digits = s;
  int base = 10;
  if (absl::ConsumePrefix(&digits, "0x") || absl::ConsumePrefix(&digits, "0X")) base = 16;
  uint64_t out = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out, base);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    return err(field, absl::StrCat("expected a 64-bit integer, got \"", s, "\""));
  }
  return out;
}

absl::Status ParseProto(const Json& v, absl::string_view field, const LineError& err,
                        google::protobuf::Message* m) {
  if (!v.is_object()) return err(field, absl::StrCat("expected an object, got ", v.dump()));
  pbu::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // a misspelt field must not replay as a default
  const std::string text = v.dump();
  if (pbu::Status s = pbu::JsonStringToMessage(text, m, options); !s.ok()) {
    return err(field, s.message().ToString());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> OptString(const Json& rec, const char* key, absl::string_view field,
                                      const LineError& err) {
  auto it = rec.find(key);
  if (it == rec.end() || it->is_null()) return std::string();
  if (!it->is_string()) return err(field, absl::StrCat("expected a string, got ", it->dump()));
  return it->get<std::string>();
}

absl::Status CheckKeys(const Json& rec, std::initializer_list<absl::string_view> known,
                       const LineError& err) {
  for (auto it = rec.begin(); it != rec.end(); ++it) {
    bool ok = false;
    for (absl::string_view k : known) ok = ok || it.key() == k;
    if (!ok) return err(it.key(), "unknown field");
  }
  return absl::OkStatus();
}

absl::Status ParseHeader(const Json& rec, const LineError& err, Trace* t) {
  if (absl::Status s =
          CheckKeys(rec, {"schema", "scenario", "strategy", "seed", "config", "target"}, err);
      !s.ok()) {
    return s;
  }
  auto schema = rec.find("schema");
  if (schema == rec.end()) return err("schema", absl::StrCat("missing; expected \"", kTraceSchema, "\""));
  if (!schema->is_string() || schema->get<std::string>() != kTraceSchema) {
    return err("schema", absl::StrCat("expected \"", kTraceSchema, "\", got ", schema->dump()));
  }
  absl::StatusOr<std::string> scenario = OptString(rec, "scenario", "scenario", err);
  if (!scenario.ok()) return scenario.status();
  absl::StatusOr<std::string> strategy = OptString(rec, "strategy", "strategy", err);
  if (!strategy.ok()) return strategy.status();
  absl::StatusOr<std::string> target = OptString(rec, "target", "target", err);
  if (!target.ok()) return target.status();
  t->scenario = *scenario;
  t->strategy = *strategy;
  t->target = *target;
  if (auto seed = rec.find("seed"); seed != rec.end()) {
    absl::StatusOr<uint64_t> v = U64(*seed, "seed", err);
    if (!v.ok()) return v.status();
    t->seed = *v;
  }
  auto config = rec.find("config");
  if (config == rec.end()) return err("config", "missing (the LabConfig the run used)");
  return ParseProto(*config, "config", err, &t->config);
}

absl::Status ParseOpRecord(const Json& rec, const LineError& err, Trace* t) {
  if (absl::Status s = CheckKeys(rec, {"i", "op", "line", "as"}, err); !s.ok()) return s;
  auto i = rec.find("i");
  if (i == rec.end()) return err("i", "missing");
  absl::StatusOr<uint64_t> index = U64(*i, "i", err);
  if (!index.ok()) return index.status();
  if (*index != t->ops.size()) {
    return err("i", absl::StrCat("expected ", t->ops.size(), " (ops are numbered in order), got ",
                                 *index));
  }
  auto op = rec.find("op");
  if (op == rec.end()) return err("op", "missing");
  TracedOp traced;
  if (absl::Status s = ParseProto(*op, "op", err, &traced.op); !s.ok()) return s;
  if (traced.op.op_case() == v1::Op::OP_NOT_SET) return err("op", "names no op");
  absl::StatusOr<std::string> line = OptString(rec, "line", "line", err);
  if (!line.ok()) return line.status();
  absl::StatusOr<std::string> as = OptString(rec, "as", "as", err);
  if (!as.ok()) return as.status();
  traced.line = *std::move(line);
  traced.as = *std::move(as);
  t->ops.push_back(std::move(traced));
  return absl::OkStatus();
}

absl::Status ParseEnd(const Json& rec, const LineError& err, Trace* t) {
  if (absl::Status s = CheckKeys(rec, {"end", "ops", "digest", "violations"}, err); !s.ok()) {
    return s;
  }
  if (!rec["end"].is_boolean() || !rec["end"].get<bool>()) {
    return err("end", absl::StrCat("expected true, got ", rec["end"].dump()));
  }
  auto ops = rec.find("ops");
  if (ops == rec.end()) return err("ops", "missing");
  absl::StatusOr<uint64_t> n = U64(*ops, "ops", err);
  if (!n.ok()) return n.status();
  if (*n != t->ops.size()) {
    return err("ops", absl::StrCat(*n, " but the trace holds ", t->ops.size(),
                                   " op records (lines lost?)"));
  }
  auto digest = rec.find("digest");
  if (digest == rec.end()) return err("digest", "missing");
  absl::StatusOr<uint64_t> d = U64(*digest, "digest", err);
  if (!d.ok()) return d.status();
  t->digest = *d;
  if (auto v = rec.find("violations"); v != rec.end()) {
    if (!v->is_object()) return err("violations", absl::StrCat("expected an object, got ", v->dump()));
    for (auto it = v->begin(); it != v->end(); ++it) {
      absl::StatusOr<uint64_t> c = U64(it.value(), absl::StrCat("violations.", it.key()), err);
      if (!c.ok()) return c.status();
      t->violations[it.key()] = *c;
    }
  }
  return absl::OkStatus();
}

}  // namespace

Trace TraceOf(const ScenarioResult& r, const RunResult& run, const v1::LabConfig& config) {
  Trace t;
  t.scenario = r.scenario;
  t.strategy = run.strategy;
  t.seed = run.seed != 0 ? run.seed : r.seed;
  t.target = r.target;
  t.config = config;
  t.ops = run.trace;
  t.digest = run.digest;
  for (const ViolationSummary& v : run.violations) t.violations[v.id] = v.count;
  return t;
}

std::string TraceToJsonl(const Trace& t) {
  std::string out;
  {
    Json h;
    h["schema"] = kTraceSchema;
    h["scenario"] = t.scenario;
    h["strategy"] = t.strategy;
    h["seed"] = absl::StrCat(t.seed);
    h["config"] = Json::parse(ProtoJson(t.config));
    h["target"] = t.target;
    absl::StrAppend(&out, h.dump(), "\n");
  }
  for (size_t i = 0; i < t.ops.size(); ++i) {
    const TracedOp& op = t.ops[i];
    // The op's JSON is spliced in as printed by protobuf (parsing it into a Json only to print
    // it again would cost more than the rest of the record on 10,000-op traces).
    Json rest;
    if (!op.line.empty()) rest["line"] = op.line;
    if (!op.as.empty()) rest["as"] = op.as;
    std::string tail = rest.empty() ? "" : rest.dump();  // {"line":...,"as":...}
    absl::StrAppend(&out, "{\"i\":", i, ",\"op\":", ProtoJson(op.op),
                    tail.empty() ? "" : ",", tail.empty() ? "" : tail.substr(1, tail.size() - 2),
                    "}\n");
  }
  Json e;
  e["end"] = true;
  e["ops"] = absl::StrCat(t.ops.size());
  e["digest"] = absl::StrFormat("0x%016x", t.digest);
  e["violations"] = Json::object();
  for (const auto& [id, n] : t.violations) e["violations"][id] = n;
  absl::StrAppend(&out, e.dump(), "\n");
  return out;
}

absl::StatusOr<Trace> TraceFromJsonl(absl::string_view text, absl::string_view file) {
  if (absl::Status s = client::CheckUtf8(text, file); !s.ok()) return s;
  Trace t;
  bool header = false;
  bool ended = false;
  int line_no = 0;
  int last = 0;  // the last non-blank line
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_no;
    const absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty()) continue;
    last = line_no;
    const LineError err(file, line_no);
    if (ended) return err("end", "records after the end record");
    Json rec = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    if (rec.is_discarded()) return err("json", "not a JSON object (garbled or cut off)");
    if (!rec.is_object()) return err("json", absl::StrCat("expected an object, got ", rec.dump()));
    absl::Status s;
    if (!header) {
      s = ParseHeader(rec, err, &t);
      header = true;
    } else if (rec.contains("end")) {
      s = ParseEnd(rec, err, &t);
      ended = true;
    } else {
      s = ParseOpRecord(rec, err, &t);
    }
    if (!s.ok()) return s;
  }
  const LineError err(file, last + 1);
  if (!header) return err("schema", "empty trace: no header record");
  if (!ended) {
    return err("end", absl::StrCat("missing end record after ", t.ops.size(),
                                   " ops (the trace is cut off)"));
  }
  return t;
}

absl::StatusOr<Trace> ReadTraceFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read the trace file"));
  std::stringstream buf;
  buf << in.rdbuf();
  return TraceFromJsonl(buf.str(), path);
}

}  // namespace ppsim::chaos
