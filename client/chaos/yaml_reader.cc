// File: client/chaos/yaml_reader.cc
#include "client/chaos/yaml_reader.h"

#include <cctype>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace ppsim::chaos {

namespace {

std::string Got(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a sequence";
  return absl::StrCat("\"", n.Scalar(), "\"");
}

}  // namespace

absl::Status YamlReader::Error(const YAML::Node& at, absl::string_view path,
                               absl::string_view message) const {
  return absl::InvalidArgumentError(absl::StrCat(file_, ":", Line(at), ": ", path,
                                                 path.empty() ? "" : ": ", message));
}

absl::Status YamlReader::Expected(const YAML::Node& at, absl::string_view path,
                                  absl::string_view what) const {
  return Error(at, path, absl::StrCat("expected ", what, ", got ", Got(at)));
}

absl::Status YamlReader::Mapping(const YAML::Node& n, absl::string_view path,
                                 std::initializer_list<absl::string_view> allowed) const {
  if (!n.IsMap()) return Expected(n, path, "a mapping");
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string key = it->first.Scalar();
    bool known = false;
    for (absl::string_view a : allowed) known = known || a == key;
    if (!known) {
      return Error(it->first, absl::StrCat(path, path.empty() ? "" : ".", key),
                   absl::StrCat("unknown key (expected one of ", absl::StrJoin(allowed, ", "),
                                ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status YamlReader::Sequence(const YAML::Node& n, absl::string_view path) const {
  return n.IsSequence() ? absl::OkStatus() : Expected(n, path, "a sequence");
}

absl::StatusOr<std::string> YamlReader::String(const YAML::Node& n,
                                               absl::string_view path) const {
  if (!n.IsScalar()) return Expected(n, path, "a string");
  return n.Scalar();
}

absl::StatusOr<uint64_t> YamlReader::UInt(const YAML::Node& n, absl::string_view path,
                                          bool positive) const {
  const char* what = positive ? "a positive integer" : "a non-negative integer";
  uint64_t v = 0;
  if (!n.IsScalar() || !absl::SimpleAtoi(n.Scalar(), &v) || (positive && v == 0)) {
    return Expected(n, path, what);
  }
  return v;
}

absl::StatusOr<double> YamlReader::Number(const YAML::Node& n, absl::string_view path) const {
  double v = 0;
  if (!n.IsScalar() || !absl::SimpleAtod(n.Scalar(), &v) || !std::isfinite(v) || v < 0) {
    return Expected(n, path, "a non-negative number");
  }
  return v;
}

absl::StatusOr<bool> YamlReader::Bool(const YAML::Node& n, absl::string_view path) const {
  bool v = false;
  if (!n.IsScalar() || !absl::SimpleAtob(n.Scalar(), &v)) return Expected(n, path, "true or false");
  return v;
}

absl::StatusOr<int64_t> YamlReader::Duration(const YAML::Node& n, absl::string_view path) const {
  constexpr char kWhat[] = "a duration (nanoseconds, or a number with ns, us, ms, s, m or h)";
  if (!n.IsScalar()) return Expected(n, path, kWhat);
  int64_t ns = 0;
  if (absl::SimpleAtoi(n.Scalar(), &ns)) {
    if (ns < 0) return Expected(n, path, kWhat);
    return ns;
  }
  absl::Duration d;
  if (!absl::ParseDuration(n.Scalar(), &d) || d < absl::ZeroDuration() ||
      d == absl::InfiniteDuration()) {
    return Expected(n, path, kWhat);
  }
  return absl::ToInt64Nanoseconds(d);
}

absl::StatusOr<uint64_t> YamlReader::Size(const YAML::Node& n, absl::string_view path) const {
  constexpr char kWhat[] = "a size (bytes, or a number with K, M, G or T)";
  if (!n.IsScalar()) return Expected(n, path, kWhat);
  std::string text = n.Scalar();
  size_t end = 0;
  while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) ||
                               text[end] == '.')) {
    ++end;
  }
  double number = 0;
  if (end == 0 || !absl::SimpleAtod(text.substr(0, end), &number)) return Expected(n, path, kWhat);
  std::string unit = absl::AsciiStrToUpper(text.substr(end));
  if (absl::EndsWith(unit, "IB")) unit.resize(unit.size() - 2);
  else if (absl::EndsWith(unit, "B")) unit.resize(unit.size() - 1);
  double scale = 1;
  if (unit == "K") scale = 1024.0;
  else if (unit == "M") scale = 1024.0 * 1024;
  else if (unit == "G") scale = 1024.0 * 1024 * 1024;
  else if (unit == "T") scale = 1024.0 * 1024 * 1024 * 1024;
  else if (!unit.empty()) return Expected(n, path, kWhat);
  const double bytes = number * scale;
  if (bytes > 1.8e19) return Expected(n, path, kWhat);
  return static_cast<uint64_t>(bytes);
}

}  // namespace ppsim::chaos
