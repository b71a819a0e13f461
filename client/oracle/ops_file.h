// The kernel oracle's op language (tests/oracle/README.md "The op language"): one op per line,
// `op_name key=value ... [@context]`, `#` comments, values decimal or 0x hex, a bare key is
// `true`, objects named by 1-based indices in the order the sequence created them. The op and
// field table is the test module's (tests/oracle/kmod/ppo_main.c `ops[]`), plus the runner's
// own `advance_time` (tests/oracle/ppo-run.c); values are checked as the module would parse
// them (ppo_args.c), so a line this parser accepts is one the module accepts.
//
// Example:
//   absl::StatusOr<OpsFile> f = ReadOpsFile("tests/oracle/sequences/destroy-held-dma.ops");
//   f->ops[2].name == "page_pool_alloc_pages"; f->ops[2].Int("count", 1) == 8
//
// Errors name the file, the line and the field:
//   x.ops:3: cout: page_pool_alloc_pages has no field cout (fields: pool, count)
#ifndef PPSIM_CLIENT_ORACLE_OPS_FILE_H_
#define PPSIM_CLIENT_ORACLE_OPS_FILE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ppsim::oracle {

// Where an op runs (tests/oracle/kmod/ppo_net.c ppo_run_ctx).
enum class OracleCtx { kDefault, kProcess, kBh, kNapi };

// A frag of skb_build's frags=: PAGE[+OFFSET][:LEN] (len 0: to the end of the page).
struct OracleFrag {
  int64_t page = 0;
  int64_t off = 0;
  int64_t len = 0;
};
std::optional<OracleFrag> ParseFrag(absl::string_view text);

struct OracleOp {
  int line = 0;        // 1-based line in the file
  std::string text;    // the op as the runner sends it: words joined by one space, no comment
  std::string name;
  std::vector<std::pair<std::string, std::string>> fields;  // in line order; values checked
  OracleCtx ctx = OracleCtx::kDefault;

  const std::string* Find(absl::string_view key) const;
  // Typed accessors for values the parser already checked; `def` when the field is absent.
  int64_t Int(absl::string_view key, int64_t def) const;
  bool Bool(absl::string_view key, bool def) const;
  // advance_time's ns: "1500ms", "62s", "1200us", or plain nanoseconds.
  int64_t DurationNs(absl::string_view key) const;
  // page_pool_put_page_bulk's pages=1,2,3.
  std::vector<int64_t> IntList(absl::string_view key) const;
  // skb_build's frags=2,3+2048:1024.
  std::vector<OracleFrag> Frags(absl::string_view key) const;
};

struct OpsFile {
  std::string path;
  std::string sequence;  // the file name without directory and ".ops"
  std::vector<OracleOp> ops;
};

// Parses `text` as the ops of `path` (used only in messages and for the sequence name).
absl::StatusOr<OpsFile> ParseOpsFile(absl::string_view path, absl::string_view text);
// Reads and parses a file; NOT_FOUND when it cannot be read.
absl::StatusOr<OpsFile> ReadOpsFile(const std::string& path);

// "1500ms" → 1500000000; nullopt when it is not a duration (ppo-run.c parse_duration_ns).
std::optional<int64_t> ParseDurationNs(absl::string_view v);

}  // namespace ppsim::oracle

#endif  // PPSIM_CLIENT_ORACLE_OPS_FILE_H_
