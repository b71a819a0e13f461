// Paging for the list RPCs (service.proto, ListLabsRequest): a page ends at page_size items or
// when the next item would take the reply past half of the message limit, whichever comes
// first, so that no reply can outgrow --max-message-bytes however many labs, pools or
// violation records there are (issue: 20 labs of 4 MiB names made ListLabs fail for everyone).
//
// A token names the RPC and the position to resume from ("labs:17", the first lab id not yet
// considered), so a token from one RPC is refused by another and a client cannot make the server
// skip its checks: a token only says where to start. Items added or removed between pages are
// seen or not as their position says; none is repeated for a key-ordered list.
#ifndef PPSIM_SERVER_SERVICE_PAGING_H_
#define PPSIM_SERVER_SERVICE_PAGING_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ppsim::service {

class Page {
 public:
  // `rpc` is the token's name ("labs"); `fields` the number of integers it carries (1 or 2).
  // INVALID_ARGUMENT naming page_token and its value if it is not "" and not one of this RPC's.
  static absl::StatusOr<Page> Start(absl::string_view rpc, size_t fields, uint32_t page_size,
                                    absl::string_view page_token, int max_message_bytes);

  // The token's integers; all 0 for the first page.
  uint64_t at(size_t i) const { return at_[i]; }

  // Whether an item of `bytes` (its serialized size) still fits; counts it if so. The first
  // item of a page always fits, so a page always makes progress.
  bool Fits(size_t bytes);

  // The token that resumes at `at` (same count of integers as Start was given).
  std::string Next(const std::vector<uint64_t>& at) const;

 private:
  std::string rpc_;
  std::vector<uint64_t> at_;
  size_t max_items_ = 0;  // 0: no count limit
  size_t max_bytes_ = 0;
  size_t items_ = 0;
  size_t bytes_ = 0;
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_PAGING_H_
