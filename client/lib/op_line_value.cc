#include "client/lib/op_line_value.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "client/lib/op_line.h"
#include "ppsim/v1/ops.pb.h"

namespace ppsim::client::op_line {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;

namespace {

bool IsHandle(const pb::Descriptor* d) { return d == v1::PageHandle::descriptor(); }
bool IsFrag(const pb::Descriptor* d) { return d == v1::FragArg::descriptor(); }

// "count: \"x\" is not a uint32"
absl::Status Bad(const FD* fd, absl::string_view text, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(fd->name(), ": \"", text, "\" is not ", what));
}

// [-](0x<hex> | <decimal>) into a sign and a magnitude.
bool ParseMagnitude(absl::string_view s, bool* negative, uint64_t* magnitude) {
  *negative = absl::ConsumePrefix(&s, "-");
  if (s.empty() || s[0] == '+' || s[0] == '-' || s[0] == ' ') return false;
  if (absl::ConsumePrefix(&s, "0x") || absl::ConsumePrefix(&s, "0X")) {
    if (s.empty() || !absl::ascii_isxdigit(static_cast<unsigned char>(s[0]))) return false;
    return absl::SimpleHexAtoi(s, magnitude);
  }
  return absl::SimpleAtoi(s, magnitude);
}

// Durations are accepted where the field is a count of nanoseconds (advance_time.ns,
// set_fault.delay_ns): "30s", "10ms", "1.5us".
bool IsNanoseconds(const FD* fd) { return fd->name() == "ns" || absl::EndsWith(fd->name(), "_ns"); }

absl::StatusOr<int64_t> ParseSigned(const FD* fd, absl::string_view text, int64_t min,
                                    int64_t max) {
  bool negative = false;
  uint64_t m = 0;
  if (!ParseMagnitude(text, &negative, &m)) {
    absl::Duration d;
    if (IsNanoseconds(fd) && absl::ParseDuration(text, &d) && d != absl::InfiniteDuration() &&
        d != -absl::InfiniteDuration()) {
      return absl::ToInt64Nanoseconds(d);
    }
    return Bad(fd, text,
               IsNanoseconds(fd) ? "nanoseconds or a duration (30s, 10ms)"
                                 : absl::StrCat("an ", fd->type_name()));
  }
  const uint64_t min_magnitude = static_cast<uint64_t>(-(min + 1)) + 1;  // |min|, no overflow
  if (negative ? m > min_magnitude : m > static_cast<uint64_t>(max)) {
    return absl::InvalidArgumentError(
        absl::StrCat(fd->name(), ": ", text, " is out of range for ", fd->type_name()));
  }
  if (!negative) return static_cast<int64_t>(m);
  return m == 0 ? 0 : -static_cast<int64_t>(m - 1) - 1;
}

absl::StatusOr<uint64_t> ParseUnsigned(const FD* fd, absl::string_view text, uint64_t max) {
  bool negative = false;
  uint64_t m = 0;
  if (!ParseMagnitude(text, &negative, &m))
    return Bad(fd, text, absl::StrCat("a ", fd->type_name()));
  if ((negative && m != 0) || m > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(fd->name(), ": ", text, " is out of range for ", fd->type_name()));
  }
  return m;
}

absl::Status ParseBool(const FD* fd, absl::string_view text, bool* out) {
  const std::string t = absl::AsciiStrToLower(text);
  if (t == "true" || t == "1" || t == "yes" || t == "on") {
    *out = true;
  } else if (t == "false" || t == "0" || t == "no" || t == "off") {
    *out = false;
  } else {
    return Bad(fd, text, "a bool (true or false)");
  }
  return absl::OkStatus();
}

absl::Status ParseString(const FD* fd, absl::string_view text, std::string* out) {
  if (!absl::StartsWith(text, "\"")) {
    *out = std::string(text);
    return absl::OkStatus();
  }
  if (text.size() < 2 || !absl::EndsWith(text, "\"")) return Bad(fd, text, "a closed string");
  std::string error;
  if (!absl::CUnescape(text.substr(1, text.size() - 2), out, &error)) {
    return Bad(fd, text, absl::StrCat("a valid string (", error, ")"));
  }
  return absl::OkStatus();
}

// pfn/generation, e.g. 0x10/2.
absl::Status ParseHandle(const FD* fd, absl::string_view text, v1::PageHandle* out) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '/');
  bool neg = false;
  uint64_t pfn = 0, gen = 0;
  if (parts.size() != 2 || !ParseMagnitude(parts[0], &neg, &pfn) || neg ||
      !ParseMagnitude(parts[1], &neg, &gen) || neg || gen > std::numeric_limits<uint32_t>::max()) {
    return Bad(fd, text, "a page handle (pfn/generation, e.g. 0x10/2)");
  }
  out->set_pfn(pfn);
  out->set_generation(static_cast<uint32_t>(gen));
  return absl::OkStatus();
}

// pfn/generation[+offset][:len], e.g. 0x10/2+2048:1024.
absl::Status ParseFrag(const FD* fd, absl::string_view text, v1::FragArg* out) {
  absl::string_view rest = text;
  uint64_t len = 0, offset = 0;
  bool neg = false;
  const auto fail = [&] {
    return Bad(fd, text, "a frag (pfn/generation[+offset][:len], e.g. 0x10/2+2048:1024)");
  };
  if (size_t colon = rest.find(':'); colon != absl::string_view::npos) {
    if (!ParseMagnitude(rest.substr(colon + 1), &neg, &len) || neg || len > UINT32_MAX)
      return fail();
    rest = rest.substr(0, colon);
  }
  if (size_t plus = rest.find('+'); plus != absl::string_view::npos) {
    if (!ParseMagnitude(rest.substr(plus + 1), &neg, &offset) || neg || offset > UINT32_MAX) {
      return fail();
    }
    rest = rest.substr(0, plus);
  }
  if (!ParseHandle(fd, rest, out->mutable_page()).ok()) return fail();
  out->set_offset(static_cast<uint32_t>(offset));
  out->set_len(static_cast<uint32_t>(len));
  return absl::OkStatus();
}

// One value (an element, for a repeated field).
absl::Status SetOne(pb::Message* msg, const FD* fd, absl::string_view text) {
  const pb::Reflection* r = msg->GetReflection();
  const bool rep = fd->is_repeated();
  switch (fd->cpp_type()) {
    case FD::CPPTYPE_INT32: {
      absl::StatusOr<int64_t> v = ParseSigned(fd, text, INT32_MIN, INT32_MAX);
      if (!v.ok()) return v.status();
      rep ? r->AddInt32(msg, fd, static_cast<int32_t>(*v))
          : r->SetInt32(msg, fd, static_cast<int32_t>(*v));
      return absl::OkStatus();
    }
    case FD::CPPTYPE_INT64: {
      absl::StatusOr<int64_t> v = ParseSigned(fd, text, INT64_MIN, INT64_MAX);
      if (!v.ok()) return v.status();
      rep ? r->AddInt64(msg, fd, *v) : r->SetInt64(msg, fd, *v);
      return absl::OkStatus();
    }
    case FD::CPPTYPE_UINT32: {
      absl::StatusOr<uint64_t> v = ParseUnsigned(fd, text, UINT32_MAX);
      if (!v.ok()) return v.status();
      rep ? r->AddUInt32(msg, fd, static_cast<uint32_t>(*v))
          : r->SetUInt32(msg, fd, static_cast<uint32_t>(*v));
      return absl::OkStatus();
    }
    case FD::CPPTYPE_UINT64: {
      absl::StatusOr<uint64_t> v = ParseUnsigned(fd, text, UINT64_MAX);
      if (!v.ok()) return v.status();
      rep ? r->AddUInt64(msg, fd, *v) : r->SetUInt64(msg, fd, *v);
      return absl::OkStatus();
    }
    case FD::CPPTYPE_DOUBLE:
    case FD::CPPTYPE_FLOAT: {
      double v = 0;
      if (!absl::SimpleAtod(text, &v)) return Bad(fd, text, "a number");
      if (fd->cpp_type() == FD::CPPTYPE_FLOAT) {
        rep ? r->AddFloat(msg, fd, static_cast<float>(v))
            : r->SetFloat(msg, fd, static_cast<float>(v));
      } else {
        rep ? r->AddDouble(msg, fd, v) : r->SetDouble(msg, fd, v);
      }
      return absl::OkStatus();
    }
    case FD::CPPTYPE_BOOL: {
      bool v = false;
      if (absl::Status s = ParseBool(fd, text, &v); !s.ok()) return s;
      rep ? r->AddBool(msg, fd, v) : r->SetBool(msg, fd, v);
      return absl::OkStatus();
    }
    case FD::CPPTYPE_STRING: {
      std::string v;
      if (absl::Status s = ParseString(fd, text, &v); !s.ok()) return s;
      rep ? r->AddString(msg, fd, std::move(v)) : r->SetString(msg, fd, std::move(v));
      return absl::OkStatus();
    }
    case FD::CPPTYPE_ENUM: {
      const pb::EnumValueDescriptor* v = client::FindEnumValue(fd->enum_type(), text);
      if (v == nullptr) return Bad(fd, text, absl::StrCat("one of ", FieldTypeName(fd)));
      rep ? r->AddEnum(msg, fd, v) : r->SetEnum(msg, fd, v);
      return absl::OkStatus();
    }
    case FD::CPPTYPE_MESSAGE: {
      pb::Message* m = rep ? r->AddMessage(msg, fd) : r->MutableMessage(msg, fd);
      if (IsHandle(fd->message_type()))
        return ParseHandle(fd, text, static_cast<v1::PageHandle*>(m));
      if (IsFrag(fd->message_type())) return ParseFrag(fd, text, static_cast<v1::FragArg*>(m));
      return absl::InvalidArgumentError(absl::StrCat(fd->name(), ": a ", fd->message_type()->name(),
                                                     " is set field by field (", fd->name(),
                                                     ".<field>=value) or written as JSON"));
    }
  }
  return absl::InternalError(absl::StrCat(fd->name(), ": unsupported field type"));
}

std::string HandleText(const v1::PageHandle& h) {
  return absl::StrFormat("0x%x/%d", h.pfn(), h.generation());
}

std::string DoubleText(double v) {
  char buf[64];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// One value of `fd` (index `i` of a repeated field).
std::string OneText(const pb::Message& msg, const FD* fd, int i) {
  const pb::Reflection* r = msg.GetReflection();
  const bool rep = fd->is_repeated();
  const bool hex = fd->name() == "iova" || fd->name() == "pfn";
  switch (fd->cpp_type()) {
    case FD::CPPTYPE_INT32:
      return absl::StrCat(rep ? r->GetRepeatedInt32(msg, fd, i) : r->GetInt32(msg, fd));
    case FD::CPPTYPE_INT64:
      return absl::StrCat(rep ? r->GetRepeatedInt64(msg, fd, i) : r->GetInt64(msg, fd));
    case FD::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(msg, fd, i) : r->GetUInt32(msg, fd));
    case FD::CPPTYPE_UINT64: {
      const uint64_t v = rep ? r->GetRepeatedUInt64(msg, fd, i) : r->GetUInt64(msg, fd);
      return hex ? absl::StrFormat("0x%x", v) : absl::StrCat(v);
    }
    case FD::CPPTYPE_DOUBLE:
      return DoubleText(rep ? r->GetRepeatedDouble(msg, fd, i) : r->GetDouble(msg, fd));
    case FD::CPPTYPE_FLOAT:
      return DoubleText(rep ? r->GetRepeatedFloat(msg, fd, i) : r->GetFloat(msg, fd));
    case FD::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(msg, fd, i) : r->GetBool(msg, fd)) ? "true" : "false";
    case FD::CPPTYPE_STRING:
      return absl::StrCat(
          "\"", absl::CEscape(rep ? r->GetRepeatedString(msg, fd, i) : r->GetString(msg, fd)),
          "\"");
    case FD::CPPTYPE_ENUM:
      return (rep ? r->GetRepeatedEnum(msg, fd, i) : r->GetEnum(msg, fd))->name();
    case FD::CPPTYPE_MESSAGE: {
      const pb::Message& m = rep ? r->GetRepeatedMessage(msg, fd, i) : r->GetMessage(msg, fd);
      if (IsHandle(fd->message_type())) return HandleText(static_cast<const v1::PageHandle&>(m));
      if (IsFrag(fd->message_type())) {
        const auto& f = static_cast<const v1::FragArg&>(m);
        std::string out = HandleText(f.page());
        if (f.offset() != 0) absl::StrAppend(&out, "+", f.offset());
        if (f.len() != 0) absl::StrAppend(&out, ":", f.len());
        return out;
      }
      return "";  // written field by field by FormatOpLine
    }
  }
  return "";
}

}  // namespace

absl::Status SetField(pb::Message* msg, const FD* fd, absl::string_view text) {
  if (!fd->is_repeated() || fd->cpp_type() == FD::CPPTYPE_STRING) return SetOne(msg, fd, text);
  if (text.empty()) return absl::OkStatus();  // an empty list
  for (absl::string_view element : absl::StrSplit(text, ',')) {
    if (absl::Status s = SetOne(msg, fd, element); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::string FieldText(const pb::Message& msg, const FD* fd) {
  if (!fd->is_repeated()) return OneText(msg, fd, 0);
  std::vector<std::string> parts;
  for (int i = 0; i < msg.GetReflection()->FieldSize(msg, fd); ++i)
    parts.push_back(OneText(msg, fd, i));
  return absl::StrJoin(parts, ",");
}

std::string FieldTypeName(const FD* fd) {
  std::string t;
  if (fd->cpp_type() == FD::CPPTYPE_ENUM) {
    std::vector<std::string> names;
    for (int i = 0; i < fd->enum_type()->value_count(); ++i)
      names.push_back(fd->enum_type()->value(i)->name());
    t = absl::StrJoin(names, "|");
  } else if (fd->cpp_type() == FD::CPPTYPE_MESSAGE && IsHandle(fd->message_type())) {
    t = "pfn/gen";
  } else if (fd->cpp_type() == FD::CPPTYPE_MESSAGE && IsFrag(fd->message_type())) {
    t = "pfn/gen[+offset][:len]";
  } else if (fd->cpp_type() == FD::CPPTYPE_MESSAGE) {
    t = fd->message_type()->name();
  } else {
    t = fd->type_name();
    if (IsNanoseconds(fd)) absl::StrAppend(&t, "|duration");
  }
  return fd->is_repeated() ? absl::StrCat(t, ",...") : t;
}

}  // namespace ppsim::client::op_line
