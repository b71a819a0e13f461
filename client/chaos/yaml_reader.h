// File: client/chaos/yaml_reader.h
// Typed reads of yaml-cpp nodes whose errors say where and what: "FILE:LINE: PATH: expected
// WHAT, got "VALUE"". The loader walks a document with one YamlReader; every method returns
// INVALID_ARGUMENT in that form, lines 1-based from yaml-cpp's marks.
#ifndef PPSIM_CLIENT_CHAOS_YAML_READER_H_
#define PPSIM_CLIENT_CHAOS_YAML_READER_H_

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/chaos/scenario.h"

namespace ppsim::chaos {

class YamlReader {
 public:
  explicit YamlReader(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  SourceLoc Loc(const YAML::Node& n) const { return {file_, Line(n)}; }
  static int Line(const YAML::Node& n) { return n.Mark().line < 0 ? 0 : n.Mark().line + 1; }

  // "FILE:LINE: PATH: MESSAGE".
  absl::Status Error(const YAML::Node& at, absl::string_view path, absl::string_view message) const;
  // "expected WHAT, got "SCALAR"" (or "got a mapping", "got a sequence").
  absl::Status Expected(const YAML::Node& at, absl::string_view path,
                        absl::string_view what) const;

  // The node must be a mapping whose keys are all in `allowed`.
  absl::Status Mapping(const YAML::Node& n, absl::string_view path,
                       std::initializer_list<absl::string_view> allowed) const;
  absl::Status Sequence(const YAML::Node& n, absl::string_view path) const;

  absl::StatusOr<std::string> String(const YAML::Node& n, absl::string_view path) const;
  absl::StatusOr<uint64_t> UInt(const YAML::Node& n, absl::string_view path,
                                bool positive = false) const;
  absl::StatusOr<double> Number(const YAML::Node& n, absl::string_view path) const;  // >= 0
  absl::StatusOr<bool> Bool(const YAML::Node& n, absl::string_view path) const;
  // An integer of nanoseconds or a duration with a unit: 30s, 100ms, 1.5s, 250us, 10ns.
  absl::StatusOr<int64_t> Duration(const YAML::Node& n, absl::string_view path) const;
  // Bytes, or a number with a binary unit: 4G, 4GiB, 384GB, 12.3T (all powers of 1024).
  absl::StatusOr<uint64_t> Size(const YAML::Node& n, absl::string_view path) const;

 private:
  std::string file_;
};

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_YAML_READER_H_
