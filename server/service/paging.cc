#include "server/service/paging.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace ppsim::service {

namespace {

// The envelope of a message and of a repeated field's tag and length, with room to spare:
// what a reply carries besides its items (a token, counts by id) stays far below this.
constexpr size_t kReplyOverhead = 64 * 1024;

}  // namespace

absl::StatusOr<Page> Page::Start(absl::string_view rpc, size_t fields, uint32_t page_size,
                                 absl::string_view page_token, int max_message_bytes) {
  Page p;
  p.rpc_ = std::string(rpc);
  p.at_.assign(fields, 0);
  p.max_items_ = page_size;
  const size_t half = static_cast<size_t>(max_message_bytes) / 2;
  p.max_bytes_ = half > kReplyOverhead ? half - kReplyOverhead : half / 2;
  if (page_token.empty()) return p;
  const auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_token: \"", absl::CEscape(page_token.substr(0, 64)),
        page_token.size() > 64 ? "..." : "", "\" is not a token this RPC returned (a ", rpc,
        " token is \"", rpc, ":N\"); send \"\" for the first page"));
  };
  std::vector<absl::string_view> parts = absl::StrSplit(page_token, ':');
  if (parts.size() != fields + 1 || parts[0] != rpc) return bad();
  for (size_t i = 0; i < fields; ++i) {
    if (!absl::SimpleAtoi(parts[i + 1], &p.at_[i])) return bad();
  }
  return p;
}

bool Page::Fits(size_t bytes) {
  if (items_ > 0) {
    if (max_items_ != 0 && items_ >= max_items_) return false;
    if (bytes_ + bytes > max_bytes_) return false;
  }
  ++items_;
  bytes_ += bytes;
  return true;
}

std::string Page::Next(const std::vector<uint64_t>& at) const {
  return absl::StrCat(rpc_, ":", absl::StrJoin(at, ":"));
}

}  // namespace ppsim::service
