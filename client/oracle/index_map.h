// The sequence's 1-based indices (tests/oracle/README.md "The op language": objects are named
// in the order the sequence created them) and the model ids they stand for, with the module's
// own bookkeeping next to them (tests/oracle/kmod/ppo.h: a page is `owned` while the sequence
// holds the pool reference its allocation gave, `extra_refs` counts its get_page references),
// so that the translation refuses exactly what the module refuses.
#ifndef PPSIM_CLIENT_ORACLE_INDEX_MAP_H_
#define PPSIM_CLIENT_ORACLE_INDEX_MAP_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/sim/types.h"

namespace ppsim::oracle {

struct NetdevEntry {
  sim::DeviceId device = 0;  // the model device whose driver registered it
  sim::IfIndex ifindex = 0;
  bool registered = true;
  std::vector<int> napis;    // NAPI indices added on it
  // The model's bind creates a netdev's NAPIs up front (server/sim/device.cc BindDriver);
  // napi_add hands them out in order.
  std::vector<sim::NapiId> model_napis;
};
struct NapiEntry {
  sim::NapiId id = 0;
  int netdev = 0;
  bool added = true;
  bool enabled = false;
};
struct PoolEntry {
  sim::PoolId id = 0;
  uint32_t flags = 0;  // as page_pool_create was given them
  int napi = 0;     // index, 0 = none
  int netdev = 0;   // index, 0 = none, -1 = lo
  bool live = true; // page_pool_destroy not called yet
};
struct PageEntry {
  sim::PageHandle handle;  // as the allocation handed it out
  int pool = 0;            // index of the pool it came from
  bool owned = true;
  int extra_refs = 0;
};

class IndexMap {
 public:
  // Each returns the new object's index.
  int AddNetdev(const NetdevEntry& e) { return Push(netdevs_, e); }
  int AddNapi(const NapiEntry& e) { return Push(napis_, e); }
  int AddDevice(sim::DeviceId id) { return Push(devices_, id); }
  int AddPool(const PoolEntry& e) { return Push(pools_, e); }
  int AddPage(const PageEntry& e) { return Push(pages_, e); }

  // The entry of `index`, or NOT_FOUND naming the field: "pool: 3 is not one of this
  // sequence's pools (1..2)" (the module's -ENOENT).
  absl::StatusOr<NetdevEntry*> Netdev(int64_t index, absl::string_view field = "netdev");
  absl::StatusOr<NapiEntry*> Napi(int64_t index, absl::string_view field = "napi");
  absl::StatusOr<sim::DeviceId> Device(int64_t index, absl::string_view field = "device") const;
  absl::StatusOr<PoolEntry*> Pool(int64_t index, absl::string_view field = "pool");
  absl::StatusOr<PageEntry*> Page(int64_t index, absl::string_view field = "page");

  int netdevs() const { return static_cast<int>(netdevs_.size()); }
  int napis() const { return static_cast<int>(napis_.size()); }
  int pools() const { return static_cast<int>(pools_.size()); }
  int pages() const { return static_cast<int>(pages_.size()); }
  const PoolEntry& pool(int index) const { return pools_[index - 1]; }
  const PageEntry& page(int index) const { return pages_[index - 1]; }

  // Model ids back to indices, for the model's netlink view: 0 when not the sequence's.
  int NetdevOfIfindex(sim::IfIndex ifindex) const;
  int NapiOfId(sim::NapiId id) const;
  // A pool the module may read: live, or destroyed while the sequence still owns one of its
  // pages (tests/oracle/kmod/ppo_pool.c ppo_pool_reachable).
  bool Reachable(int pool) const;
  // Pages the sequence holds a pool reference to, or a get_page reference (what `observe`,
  // `advance_time` and, for one pool, `page_pool_destroy` report).
  std::vector<int> HeldPages(int pool = 0) const;

 private:
  template <class T>
  static int Push(std::vector<T>& v, const T& e) {
    v.push_back(e);
    return static_cast<int>(v.size());
  }
  std::vector<NetdevEntry> netdevs_;
  std::vector<NapiEntry> napis_;
  std::vector<sim::DeviceId> devices_;
  std::vector<PoolEntry> pools_;
  std::vector<PageEntry> pages_;
};

}  // namespace ppsim::oracle

#endif  // PPSIM_CLIENT_ORACLE_INDEX_MAP_H_
