#include "server/service/request_window.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace ppsim::service {

absl::Status ValidateRequestId(absl::string_view id) {
  constexpr size_t kShown = 40;
  const auto shown = [&] {
    return absl::StrCat("\"", absl::CHexEscape(id.substr(0, kShown)),
                        id.size() > kShown ? "\"..." : "\"");
  };
  if (id.size() > kMaxRequestIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat("request_id: ", shown(), " is ", id.size(),
                                                   " bytes; at most ", kMaxRequestIdBytes));
  }
  for (size_t i = 0; i < id.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(id[i]);
    if (c < 0x20 || c > 0x7e) {
      return absl::InvalidArgumentError(
          absl::StrCat("request_id: ", shown(), " has a byte that is not printable ASCII at ", i));
    }
  }
  return absl::OkStatus();
}

const v1::ApplyResponse* RequestWindow::Find(absl::string_view id) const {
  auto it = outcomes_.find(id);
  return it == outcomes_.end() ? nullptr : &it->second;
}

void RequestWindow::Remember(absl::string_view id, const v1::ApplyResponse& outcome) {
  if (capacity_ == 0 || outcomes_.contains(id)) return;
  if (order_.size() == capacity_) {
    outcomes_.erase(order_.front());
    order_.pop_front();
  }
  v1::ApplyResponse& kept = outcomes_[id];  // every field but the results, which may be millions
  if (outcome.has_rejected()) *kept.mutable_rejected() = outcome.rejected();
  kept.set_digest(outcome.digest());
  kept.set_now_ns(outcome.now_ns());
  kept.set_violations(outcome.violations());
  kept.set_ops(outcome.ops());
  kept.set_applied(outcome.applied());
  kept.set_replayed(true);
  order_.emplace_back(id);
}

}  // namespace ppsim::service
