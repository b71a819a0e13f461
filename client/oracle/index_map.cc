#include "client/oracle/index_map.h"

#include "absl/strings/str_cat.h"

namespace ppsim::oracle {

namespace {

// The module's ppo_arg_index: 1..n, else -ENOENT with the same words.
template <class V>
auto At(V& v, int64_t index, absl::string_view field, absl::string_view what)
    -> absl::StatusOr<decltype(&v[0])> {
  if (index < 1 || index > static_cast<int64_t>(v.size())) {
    return absl::NotFoundError(absl::StrCat(field, ": ", index, " is not one of this sequence's ",
                                            what, " (1..", v.size(), ")"));
  }
  return &v[static_cast<size_t>(index - 1)];
}

}  // namespace

absl::StatusOr<NetdevEntry*> IndexMap::Netdev(int64_t index, absl::string_view field) {
  return At(netdevs_, index, field, "netdevs");
}

absl::StatusOr<NapiEntry*> IndexMap::Napi(int64_t index, absl::string_view field) {
  return At(napis_, index, field, "napis");
}

absl::StatusOr<sim::DeviceId> IndexMap::Device(int64_t index, absl::string_view field) const {
  absl::StatusOr<const sim::DeviceId*> d = At(devices_, index, field, "devices");
  if (!d.ok()) return d.status();
  return **d;
}

absl::StatusOr<PoolEntry*> IndexMap::Pool(int64_t index, absl::string_view field) {
  return At(pools_, index, field, "pools");
}

absl::StatusOr<PageEntry*> IndexMap::Page(int64_t index, absl::string_view field) {
  return At(pages_, index, field, "pages");
}

int IndexMap::NetdevOfIfindex(sim::IfIndex ifindex) const {
  for (size_t i = 0; i < netdevs_.size(); ++i) {
    if (netdevs_[i].ifindex == ifindex) return static_cast<int>(i + 1);
  }
  return 0;
}

int IndexMap::NapiOfId(sim::NapiId id) const {
  for (size_t i = 0; i < napis_.size(); ++i) {
    if (napis_[i].id == id) return static_cast<int>(i + 1);
  }
  return 0;
}

bool IndexMap::Reachable(int pool) const {
  if (pools_[pool - 1].live) return true;
  for (const PageEntry& p : pages_) {
    if (p.pool == pool && p.owned) return true;
  }
  return false;
}

std::vector<int> IndexMap::HeldPages(int pool) const {
  std::vector<int> out;
  for (size_t i = 0; i < pages_.size(); ++i) {
    const PageEntry& p = pages_[i];
    if ((pool == 0 || p.pool == pool) && (p.owned || p.extra_refs > 0)) {
      out.push_back(static_cast<int>(i + 1));
    }
  }
  return out;
}

}  // namespace ppsim::oracle
