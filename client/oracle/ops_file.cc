#include "client/oracle/ops_file.h"

#include <array>
#include <cerrno>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/oracle/read_file.h"

namespace ppsim::oracle {

namespace {

enum class Kind {
  kIndex, kInt, kBool, kDuration, kDmaDir, kNetdev, kIndexList, kString, kFragList
};

struct FieldSpec {
  absl::string_view name;
  Kind kind;
};

struct OpSpec {
  absl::string_view name;
  std::vector<FieldSpec> fields;
};

// The module's op table (tests/oracle/kmod/ppo_main.c ops[]) with each field's parser
// (ppo_args.c, ppo_pool.c, ppo_net.c), and the runner's advance_time (ppo-run.c run_op).
// `reset` is left out: it is the runner's epilogue, never a sequence's op.
const std::vector<OpSpec>& OpTable() {
  static const auto* kTable = new std::vector<OpSpec>{
      {"netdev_register", {}},
      {"netdev_unregister", {{"netdev", Kind::kIndex}}},
      {"napi_add", {{"netdev", Kind::kIndex}}},
      {"napi_enable", {{"napi", Kind::kIndex}}},
      {"napi_disable", {{"napi", Kind::kIndex}}},
      {"napi_del", {{"napi", Kind::kIndex}}},
      {"add_device", {}},
      {"page_pool_create",
       {{"device", Kind::kIndex}, {"flags", Kind::kInt}, {"order", Kind::kInt},
        {"pool_size", Kind::kInt}, {"nid", Kind::kInt}, {"dma_dir", Kind::kDmaDir},
        {"max_len", Kind::kInt}, {"offset", Kind::kInt}, {"napi", Kind::kIndex},
        {"netdev", Kind::kNetdev}, {"strategy", Kind::kString}}},
      {"page_pool_destroy", {{"pool", Kind::kIndex}}},
      {"page_pool_alloc_pages", {{"pool", Kind::kIndex}, {"count", Kind::kInt}}},
      {"page_pool_put_page",
       {{"pool", Kind::kIndex}, {"page", Kind::kIndex}, {"dma_sync_size", Kind::kInt},
        {"allow_direct", Kind::kBool}}},
      {"page_pool_put_page_bulk", {{"pages", Kind::kIndexList}}},
      {"page_pool_update_nid", {{"pool", Kind::kIndex}, {"nid", Kind::kInt}}},
      {"page_pool_disable_direct_recycling", {{"pool", Kind::kIndex}}},
      {"get_page", {{"page", Kind::kIndex}}},
      {"put_page", {{"page", Kind::kIndex}, {"force", Kind::kBool}}},
      // skbs (tests/oracle/kmod/ppo_skb.c), with the model's op and field names
      {"skb_build", {{"frags", Kind::kFragList}, {"head", Kind::kIndex}, {"recycle", Kind::kBool}}},
      {"skb_clone", {{"skb", Kind::kIndex}}},
      {"pskb_expand_head", {{"skb", Kind::kIndex}}},
      {"skb_split", {{"skb", Kind::kIndex}, {"at", Kind::kInt}, {"cut", Kind::kInt}}},
      {"skb_shift",
       {{"tgt", Kind::kIndex}, {"skb", Kind::kIndex}, {"count", Kind::kInt},
        {"partial", Kind::kInt}}},
      {"skb_try_coalesce",
       {{"to", Kind::kIndex}, {"from", Kind::kIndex}, {"racing_clone", Kind::kIndex}}},
      {"skb_gro_receive", {{"p", Kind::kIndex}, {"skb", Kind::kIndex}}},
      {"skb_segment", {{"skb", Kind::kIndex}}},
      {"skb_frag_ref", {{"skb", Kind::kIndex}, {"frag", Kind::kInt}}},
      {"kfree_skb", {{"skb", Kind::kIndex}}},
      {"napi_consume_skb", {{"skb", Kind::kIndex}, {"budget", Kind::kInt}}},
      {"skb_attempt_defer_free", {{"skb", Kind::kIndex}}},
      {"stack_hold", {{"skb", Kind::kIndex}, {"holder", Kind::kString}, {"cpu", Kind::kInt}}},
      {"stack_release",
       {{"holder", Kind::kString}, {"cpu", Kind::kInt}, {"count", Kind::kInt}}},
      {"observe", {}},
      {"advance_time", {{"ns", Kind::kDuration}}},
  };
  return *kTable;
}

// kstrtol(v, 0, ...): decimal, 0x hex, a leading 0 is octal.
std::optional<int64_t> ParseInt(absl::string_view v) {
  if (v.empty()) return std::nullopt;
  const std::string s(v);
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(s.c_str(), &end, 0);
  if (errno != 0 || end != s.c_str() + s.size()) return std::nullopt;
  return x;
}

// ppo_arg_bool: on/yes/off/no, then kstrtobool's words.
std::optional<bool> ParseBool(absl::string_view v) {
  const std::string s = absl::AsciiStrToLower(v);
  for (absl::string_view t : {"true", "1", "y", "yes", "on"}) {
    if (s == t) return true;
  }
  for (absl::string_view f : {"false", "0", "n", "no", "off"}) {
    if (s == f) return false;
  }
  return std::nullopt;
}

bool IsDmaDir(absl::string_view v) {
  const std::string s = absl::AsciiStrToLower(v);
  for (absl::string_view d : {"from_device", "bidirectional", "to_device", "dma_from_device",
                              "dma_bidirectional", "dma_to_device"}) {
    if (s == d) return true;
  }
  const std::optional<int64_t> n = ParseInt(v);
  return n && *n >= 0 && *n <= 3;  // enum dma_data_direction's own numbers
}

}  // namespace

// ppo_skb.c parse_frags: PAGE[+OFFSET][:LEN], the page a 1-based index.
std::optional<OracleFrag> ParseFrag(absl::string_view t) {
  OracleFrag f;
  if (size_t colon = t.find(':'); colon != absl::string_view::npos) {
    const std::optional<int64_t> len = ParseInt(t.substr(colon + 1));
    if (!len || *len < 0) return std::nullopt;
    f.len = *len;
    t = t.substr(0, colon);
  }
  if (size_t plus = t.find('+'); plus != absl::string_view::npos) {
    const std::optional<int64_t> off = ParseInt(t.substr(plus + 1));
    if (!off || *off < 0) return std::nullopt;
    f.off = *off;
    t = t.substr(0, plus);
  }
  const std::optional<int64_t> page = ParseInt(t);
  if (!page || *page < 1) return std::nullopt;
  f.page = *page;
  return f;
}

namespace {

// What is wrong with `value` for a field of `kind`, or "" when nothing.
std::string CheckValue(Kind kind, absl::string_view value) {
  switch (kind) {
    case Kind::kIndex: {
      const std::optional<int64_t> n = ParseInt(value);
      if (!n) return absl::StrCat("\"", value, "\" is not an integer");
      if (*n < 0) return absl::StrCat(*n, " is not an index (1-based, 0 = none)");
      return "";
    }
    case Kind::kInt:
      return ParseInt(value) ? "" : absl::StrCat("\"", value, "\" is not an integer");
    case Kind::kBool:
      return ParseBool(value) ? "" : absl::StrCat("\"", value, "\" is not a bool");
    case Kind::kDuration:
      return ParseDurationNs(value)
                 ? ""
                 : absl::StrCat("\"", value, "\" is not a duration (N, Nns, Nus, Nms or Ns)");
    case Kind::kDmaDir:
      return IsDmaDir(value) ? ""
                             : absl::StrCat("\"", value, "\" is not a DMA direction "
                                            "(from_device, bidirectional, to_device)");
    case Kind::kNetdev:
      if (value == "lo") return "";
      return CheckValue(Kind::kIndex, value).empty()
                 ? ""
                 : absl::StrCat("\"", value, "\" is not a netdev index or lo");
    case Kind::kIndexList: {
      int n = 0;
      for (absl::string_view t : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        const std::optional<int64_t> i = ParseInt(t);
        if (!i || *i < 1) return absl::StrCat("\"", t, "\" is not a page index");
        ++n;
      }
      return n > 0 ? "" : "is empty (a comma-separated list of page indices)";
    }
    case Kind::kString:
      return "";
    case Kind::kFragList: {
      int n = 0;
      for (absl::string_view t : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        if (!ParseFrag(t)) return absl::StrCat("\"", t, "\" is not PAGE[+OFFSET][:LEN]");
        ++n;
      }
      return n > 0 ? "" : "is empty (a comma-separated list of PAGE[+OFFSET][:LEN])";
    }
  }
  return "unknown kind";
}

absl::Status LineError(absl::string_view path, int line, absl::string_view field,
                       absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": ", field, ": ", what));
}

absl::StatusOr<OracleCtx> ParseCtx(absl::string_view c) {
  if (c == "process") return OracleCtx::kProcess;
  if (c == "bh" || absl::StartsWith(c, "softirq")) return OracleCtx::kBh;
  if (c == "napi") return OracleCtx::kNapi;
  return absl::InvalidArgumentError(
      absl::StrCat("@", c, ": contexts are @process, @bh (or @softirq), @napi"));
}

absl::StatusOr<OracleOp> ParseLine(absl::string_view path, int line_no,
                                   absl::string_view line) {
  OracleOp op;
  op.line = line_no;
  std::vector<std::string> words;
  for (absl::string_view w : absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty())) {
    if (w[0] == '#') break;
    words.emplace_back(w);
  }
  op.name = words[0];
  op.text = absl::StrJoin(words, " ");
  const OpSpec* spec = nullptr;
  for (const OpSpec& s : OpTable()) {
    if (s.name == op.name) spec = &s;
  }
  if (spec == nullptr) {
    std::vector<absl::string_view> names;
    for (const OpSpec& s : OpTable()) names.push_back(s.name);
    return LineError(path, line_no, "op",
                     absl::StrCat("unknown op \"", op.name, "\" (ops: ", absl::StrJoin(names, ", "),
                                  ")"));
  }
  bool have_ctx = false;
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w[0] == '@') {
      absl::StatusOr<OracleCtx> c = ParseCtx(w.substr(1));
      if (!c.ok()) return LineError(path, line_no, "context", c.status().message());
      if (have_ctx) return LineError(path, line_no, "context", "given twice");
      op.ctx = *c;
      have_ctx = true;
      continue;
    }
    const size_t eq = w.find('=');
    std::string key = w.substr(0, eq);
    std::string value = eq == std::string::npos ? "true" : w.substr(eq + 1);
    const FieldSpec* f = nullptr;
    for (const FieldSpec& fs : spec->fields) {
      if (fs.name == key) f = &fs;
    }
    if (f == nullptr) {
      std::vector<absl::string_view> names;
      for (const FieldSpec& fs : spec->fields) names.push_back(fs.name);
      return LineError(path, line_no, key,
                       absl::StrCat(op.name, " has no field ", key, " (fields: ",
                                    names.empty() ? "none" : absl::StrJoin(names, ", "), ")"));
    }
    if (op.Find(key) != nullptr) return LineError(path, line_no, key, "given twice");
    if (std::string what = CheckValue(f->kind, value); !what.empty()) {
      return LineError(path, line_no, key, what);
    }
    op.fields.emplace_back(std::move(key), std::move(value));
  }
  return op;
}

}  // namespace

const std::string* OracleOp::Find(absl::string_view key) const {
  for (const auto& [k, v] : fields) {
    if (k == key) return &v;
  }
  return nullptr;
}

int64_t OracleOp::Int(absl::string_view key, int64_t def) const {
  const std::string* v = Find(key);
  if (v == nullptr) return def;
  return ParseInt(*v).value_or(def);
}

bool OracleOp::Bool(absl::string_view key, bool def) const {
  const std::string* v = Find(key);
  if (v == nullptr) return def;
  return ParseBool(*v).value_or(def);
}

int64_t OracleOp::DurationNs(absl::string_view key) const {
  const std::string* v = Find(key);
  return v == nullptr ? 0 : ParseDurationNs(*v).value_or(0);
}

std::vector<int64_t> OracleOp::IntList(absl::string_view key) const {
  std::vector<int64_t> out;
  const std::string* v = Find(key);
  if (v == nullptr) return out;
  for (absl::string_view t : absl::StrSplit(*v, ',', absl::SkipEmpty())) {
    if (std::optional<int64_t> i = ParseInt(t)) out.push_back(*i);
  }
  return out;
}

std::vector<OracleFrag> OracleOp::Frags(absl::string_view key) const {
  std::vector<OracleFrag> out;
  const std::string* v = Find(key);
  if (v == nullptr) return out;
  for (absl::string_view t : absl::StrSplit(*v, ',', absl::SkipEmpty())) {
    if (std::optional<OracleFrag> f = ParseFrag(t)) out.push_back(*f);
  }
  return out;
}

std::optional<int64_t> ParseDurationNs(absl::string_view v) {
  constexpr std::array<std::pair<absl::string_view, double>, 4> kUnits = {
      {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}}};
  double scale = 1;
  absl::string_view number = v;
  for (const auto& [suffix, s] : kUnits) {
    if (absl::EndsWith(v, suffix)) {
      number = v.substr(0, v.size() - suffix.size());
      scale = s;
      break;
    }
  }
  double x = 0;
  if (number.empty() || !absl::SimpleAtod(number, &x) || !(x >= 0 && x <= 9e18 / scale)) {
    return std::nullopt;
  }
  return static_cast<int64_t>(x * scale);
}

absl::StatusOr<OpsFile> ParseOpsFile(absl::string_view path, absl::string_view text) {
  OpsFile f;
  f.path = std::string(path);
  absl::string_view base = path.substr(path.rfind('/') == absl::string_view::npos
                                           ? 0
                                           : path.rfind('/') + 1);
  if (absl::EndsWith(base, ".ops")) base.remove_suffix(4);
  f.sequence = std::string(base);
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    const absl::string_view stripped = absl::StripAsciiWhitespace(line);
    if (stripped.empty() || stripped[0] == '#') continue;
    absl::StatusOr<OracleOp> op = ParseLine(path, line_no, stripped);
    if (!op.ok()) return op.status();
    f.ops.push_back(*std::move(op));
  }
  if (f.ops.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no ops"));
  }
  return f;
}

absl::StatusOr<OpsFile> ReadOpsFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileText(path);
  if (!text.ok()) return text.status();
  return ParseOpsFile(path, *text);
}

}  // namespace ppsim::oracle
