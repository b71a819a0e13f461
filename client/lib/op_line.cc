// Parsing op lines (op_line.h). The words are looked up in Op's descriptor, so every op and
// field ops.proto gains is accepted without a change here.
#include "client/lib/op_line.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/lib/op_line_value.h"
#include "google/protobuf/util/json_util.h"

namespace ppsim::client {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;

namespace {

const pb::OneofDescriptor* OpOneof() { return v1::Op::descriptor()->FindOneofByName("op"); }

const FD* FindOp(absl::string_view name) {
  const FD* fd = v1::Op::descriptor()->FindFieldByName(std::string(name));
  return fd != nullptr && fd->containing_oneof() == OpOneof() ? fd : nullptr;
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diag = up;
    }
  }
  return row[b.size()];
}

// " (did you mean page_pool_alloc_pages?)" for a misspelt or shortened op name, else "".
std::string OpSuggestion(absl::string_view word) {
  const pb::OneofDescriptor* oneof = OpOneof();
  std::string best;
  size_t best_distance = 3;  // farther than this is a different word
  for (int i = 0; i < oneof->field_count(); ++i) {
    const std::string& name = oneof->field(i)->name();
    if (word.size() >= 4 && absl::StartsWith(name, word))
      return absl::StrCat(" (did you mean ", name, "?)");
    if (const size_t d = EditDistance(word, name); d <= best_distance) {
      best_distance = d;
      best = name;
    }
  }
  return best.empty() ? "" : absl::StrCat(" (did you mean ", best, "?)");
}

std::string FieldList(const pb::Descriptor* d) {
  if (d->field_count() == 0) return "it has no fields";
  std::vector<std::string> names;
  for (int i = 0; i < d->field_count(); ++i) names.push_back(d->field(i)->name());
  return absl::StrCat("fields: ", absl::StrJoin(names, ", "));
}

// The enum's common prefix up to its first '_' ("DMA_", "CTX_"), or "".
std::string EnumPrefix(const pb::EnumDescriptor* e) {
  const std::string& first = e->value(0)->name();
  const size_t underscore = first.find('_');
  if (underscore == std::string::npos) return "";
  const std::string prefix = first.substr(0, underscore + 1);
  for (int i = 0; i < e->value_count(); ++i) {
    if (!absl::StartsWith(e->value(i)->name(), prefix)) return "";
  }
  return prefix;
}

// "softirq:0", "process", "workqueue:3", also CTX_SOFTIRQ:0.
absl::Status ParseContext(absl::string_view text, v1::ExecContext* ctx) {
  std::pair<absl::string_view, absl::string_view> kind_cpu =
      absl::StrSplit(text, absl::MaxSplits(':', 1));
  const pb::EnumValueDescriptor* kind = FindEnumValue(v1::CtxKind_descriptor(), kind_cpu.first);
  if (kind == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("context \"", kind_cpu.first,
                     "\" is not one of process, softirq, workqueue (@kind[:cpu])"));
  }
  uint32_t cpu = 0;
  if (absl::StrContains(text, ':') && !absl::SimpleAtoi(kind_cpu.second, &cpu)) {
    return absl::InvalidArgumentError(
        absl::StrCat("context cpu \"", kind_cpu.second, "\" is not a cpu number"));
  }
  ctx->set_kind(static_cast<v1::CtxKind>(kind->number()));
  ctx->set_cpu(cpu);
  return absl::OkStatus();
}


// Resolves `key` (a field name, or a dotted path into message fields) under `body`. Sets
// *target to the message that holds the last field.
absl::StatusOr<const FD*> ResolveKey(pb::Message* body, absl::string_view op_name,
                                     absl::string_view key, pb::Message** target) {
  pb::Message* msg = body;
  std::string where(op_name);
  std::vector<absl::string_view> path = absl::StrSplit(key, '.');
  for (size_t i = 0; i < path.size(); ++i) {
    const FD* fd = msg->GetDescriptor()->FindFieldByName(std::string(path[i]));
    if (fd == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(where, " has no field ", path[i], " (",
                                                     FieldList(msg->GetDescriptor()), ")"));
    }
    if (i + 1 == path.size()) {
      *target = msg;
      return fd;
    }
    if (fd->cpp_type() != FD::CPPTYPE_MESSAGE || fd->is_repeated()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".", fd->name(), " has no fields"));
    }
    msg = msg->GetReflection()->MutableMessage(msg, fd);
    absl::StrAppend(&where, ".", fd->name());
  }
  return absl::InternalError("empty key");
}

}  // namespace

absl::StatusOr<std::vector<std::string>> SplitOpWords(absl::string_view line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    if (absl::ascii_isspace(static_cast<unsigned char>(line[i]))) {
      ++i;
      continue;
    }
    if (line[i] == '#') break;
    std::string word;
    bool quoted = false;
    for (; i < line.size() && (quoted || !absl::ascii_isspace(static_cast<unsigned char>(line[i])));
         ++i) {
      if (quoted && line[i] == '\\' && i + 1 < line.size()) {
        word += line[i++];
      } else if (line[i] == '"') {
        quoted = !quoted;
      }
      word += line[i];
    }
    if (quoted) {
      return absl::InvalidArgumentError(
          absl::StrCat("token ", words.size() + 1, " \"", word, "\": the quote is not closed"));
    }
    words.push_back(std::move(word));
  }
  return words;
}

bool IsOpName(absl::string_view word) { return FindOp(word) != nullptr; }

const pb::EnumValueDescriptor* FindEnumValue(const pb::EnumDescriptor* e, absl::string_view text) {
  std::string name = absl::AsciiStrToUpper(text);
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  if (const pb::EnumValueDescriptor* v = e->FindValueByName(name)) return v;
  if (const pb::EnumValueDescriptor* v = e->FindValueByName(EnumPrefix(e) + name)) return v;
  int number = 0;
  if (absl::SimpleAtoi(text, &number)) return e->FindValueByNumber(number);
  return nullptr;
}

absl::StatusOr<v1::Op> ParseOpWords(absl::Span<const std::string> words, int first_token) {
  if (words.empty()) return absl::InvalidArgumentError("empty op line: expected an op name");
  const auto token_error = [&](size_t i, absl::string_view message) {
    return absl::InvalidArgumentError(absl::StrCat("token ", first_token + static_cast<int>(i),
                                                   " \"", words[i], "\": ", message));
  };
  const FD* op_fd = FindOp(words[0]);
  if (op_fd == nullptr) {
    if (absl::StrContains(words[0], '=') || absl::StartsWith(words[0], "@")) {
      return token_error(0, "expected an op name first");
    }
    return token_error(0, absl::StrCat("no op named ", words[0], OpSuggestion(words[0]),
                                       " (`ppctl apply --list-ops` lists them)"));
  }
  v1::Op op;
  pb::Message* body = op.GetReflection()->MutableMessage(&op, op_fd);
  std::set<std::string> seen;
  bool ctx_seen = false;
  for (size_t i = 1; i < words.size(); ++i) {
    const absl::string_view word = words[i];
    if (absl::StartsWith(word, "@")) {
      if (ctx_seen) return token_error(i, "the context is set twice");
      ctx_seen = true;
      if (absl::Status s = ParseContext(word.substr(1), op.mutable_ctx()); !s.ok()) {
        return token_error(i, s.message());
      }
      continue;
    }
    const size_t eq = word.find('=');
    const absl::string_view key = word.substr(0, eq);
    pb::Message* target = nullptr;
    absl::StatusOr<const FD*> fd = ResolveKey(body, op_fd->name(), key, &target);
    if (!fd.ok()) return token_error(i, fd.status().message());
    absl::string_view value;
    if (eq != absl::string_view::npos) {
      value = word.substr(eq + 1);
    } else if ((*fd)->cpp_type() == FD::CPPTYPE_BOOL && !(*fd)->is_repeated()) {
      value = "true";
    } else {
      return token_error(
          i, absl::StrCat(key, " needs a value (", key, "=", op_line::FieldTypeName(*fd), ")"));
    }
    if (!(*fd)->is_repeated() && !seen.insert(std::string(key)).second) {
      return token_error(i, absl::StrCat(key, " is set twice"));
    }
    if (absl::Status s = op_line::SetField(target, *fd, value); !s.ok()) {
      return token_error(i, s.message());
    }
  }
  return op;
}

absl::StatusOr<v1::Op> ParseOpLine(absl::string_view line) {
  line = absl::StripAsciiWhitespace(line);
  if (absl::StartsWith(line, "{")) {
    v1::Op op;
    const pb::util::Status s =
        pb::util::JsonStringToMessage(pb::StringPiece(line.data(), line.size()), &op);
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("JSON: ", s.message().ToString()));
    if (op.op_case() == v1::Op::OP_NOT_SET) return absl::InvalidArgumentError("JSON: no op is set");
    return op;
  }
  absl::StatusOr<std::vector<std::string>> words = SplitOpWords(line);
  if (!words.ok()) return words.status();
  return ParseOpWords(*words, 1);
}

absl::StatusOr<std::vector<v1::Op>> ParseOpLines(absl::string_view text) {
  std::vector<v1::Op> ops;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    absl::StatusOr<v1::Op> op = ParseOpLine(line);
    if (!op.ok()) {
      return absl::Status(op.status().code(),
                          absl::StrCat("line ", number, ": ", op.status().message()));
    }
    ops.push_back(*std::move(op));
  }
  return ops;
}

namespace {

// Whether `word` begins a new op after the words of `op_name` (see ParseOpArgs).
bool StartsNewOp(absl::string_view op_name, absl::string_view word) {
  if (IsOpName(word)) return true;
  if (absl::StrContains(word, '=') || absl::StartsWith(word, "@")) return false;
  const FD* op = FindOp(op_name);
  return op == nullptr || op->message_type()->FindFieldByName(std::string(word)) == nullptr;
}

bool HasSpace(absl::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); });
}

}  // namespace

absl::StatusOr<std::vector<v1::Op>> ParseOpArgs(absl::Span<const std::string> args) {
  std::vector<v1::Op> ops;
  std::vector<std::string> group;
  int group_token = 1;
  const auto flush = [&]() -> absl::Status {
    if (group.empty()) return absl::OkStatus();
    absl::StatusOr<v1::Op> op = ParseOpWords(group, group_token);
    if (!op.ok()) return op.status();
    ops.push_back(*std::move(op));
    group.clear();
    return absl::OkStatus();
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const bool whole_lines = HasSpace(arg) || absl::StartsWith(arg, "{");
    if (whole_lines || arg == ";" || (!group.empty() && StartsNewOp(group[0], arg))) {
      if (absl::Status s = flush(); !s.ok()) return s;
    }
    if (arg == ";") continue;
    if (whole_lines) {
      absl::StatusOr<std::vector<v1::Op>> lines = ParseOpLines(arg);
      if (!lines.ok()) {
        return absl::Status(lines.status().code(),
                            absl::StrCat("argument ", i + 1, ": ", lines.status().message()));
      }
      for (v1::Op& op : *lines) ops.push_back(std::move(op));
      continue;
    }
    if (group.empty()) group_token = static_cast<int>(i) + 1;
    group.push_back(arg);
  }
  if (absl::Status s = flush(); !s.ok()) return s;
  return ops;
}

}  // namespace ppsim::client
