// The lab collectable (docs/design.md §5): series built at scrape time from the labs' own counters,
// with the kernel's netlink names, only the allowed labels, and no series left behind by a
// freed pool or a deleted lab. The exposition must pass `promtool check metrics`.
#include "server/metrics/metrics.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "server/service/lab_registry.h"
#include "server/service_metrics.h"
#include "server/sim/lab_test_peer.h"
#include "server/store/mutex.h"

namespace ppsim::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using LabelMap = std::map<std::string, std::string>;

constexpr int64_t kSecondNs = 1'000'000'000;

// ---- applying ops through the registry (so ops_by_name is what the daemon would count) ----

v1::OpResult MustApply(service::LabRegistry& reg, uint64_t lab, v1::Op op) {
  google::protobuf::RepeatedPtrField<v1::Op> ops;
  *ops.Add() = std::move(op);
  absl::StatusOr<v1::ApplyResponse> r = reg.Apply(lab, ops);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return {};
  EXPECT_FALSE(r->has_rejected()) << r->rejected().message();
  return r->results_size() == 1 ? r->results(0) : v1::OpResult{};
}

v1::Op Softirq(v1::Op op) {
  op.mutable_ctx()->set_kind(v1::CTX_SOFTIRQ);
  op.mutable_ctx()->set_cpu(0);  // RX queue 0's NAPI runs on CPU 0
  return op;
}

// A device bound with PP_FLAG_DMA_MAP (flags=1) under the legacy strategy, and its RX pool.
struct Nic {
  uint32_t device = 0;
  uint32_t ifindex = 0;
  uint32_t pool = 0;
};
Nic BindNic(service::LabRegistry& reg, uint64_t lab) {
  Nic nic;
  v1::Op add;
  add.mutable_add_device();
  nic.device = MustApply(reg, lab, add).device();
  v1::Op bind;
  bind.mutable_bind_driver()->set_device(nic.device);
  bind.mutable_bind_driver()->set_flags(1);
  bind.mutable_bind_driver()->set_strategy("legacy");
  const v1::OpResult r = MustApply(reg, lab, bind);
  nic.ifindex = r.ifindex();
  EXPECT_NE(nic.ifindex, 0u);
  EXPECT_EQ(r.pools_size(), 1);
  if (r.pools_size() > 0) nic.pool = r.pools(0);
  return nic;
}

std::vector<v1::PageRef> AllocPages(service::LabRegistry& reg, uint64_t lab, uint32_t pool,
                                    uint32_t count) {
  v1::Op op;
  op.mutable_page_pool_alloc_pages()->set_pool(pool);
  op.mutable_page_pool_alloc_pages()->set_count(count);
  const v1::OpResult r = MustApply(reg, lab, Softirq(op));
  EXPECT_EQ(r.pages_size(), static_cast<int>(count));
  return {r.pages().begin(), r.pages().end()};
}

void PutPage(service::LabRegistry& reg, uint64_t lab, const v1::PageRef& page) {
  v1::Op op;
  *op.mutable_napi_pp_put_page()->mutable_page() = page.page();
  MustApply(reg, lab, Softirq(op));
}

void Unbind(service::LabRegistry& reg, uint64_t lab, uint32_t device) {
  v1::Op op;
  op.mutable_unbind_driver()->set_device(device);
  MustApply(reg, lab, op);
}

void Advance(service::LabRegistry& reg, uint64_t lab, int64_t ns) {
  v1::Op op;
  op.mutable_advance_time()->set_ns(ns);
  MustApply(reg, lab, op);
}

// ---- reading a scrape ----------------------------------------------------------------------

LabelMap Labels(const ClientMetric& m) {
  LabelMap out;
  for (const ClientMetric::Label& l : m.label) out[l.name] = l.value;
  return out;
}

const MetricFamily* Family(const std::vector<MetricFamily>& scrape, const std::string& name) {
  for (const MetricFamily& f : scrape) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

double Value(const MetricFamily& f, const ClientMetric& m) {
  return f.type == MetricType::Counter ? m.counter.value : m.gauge.value;
}

// The series of `name` whose labels include `match`; fails the test unless there is exactly one.
std::optional<double> Series(const std::vector<MetricFamily>& scrape, const std::string& name,
                             const LabelMap& match, LabelMap* labels = nullptr) {
  const MetricFamily* f = Family(scrape, name);
  if (f == nullptr) return std::nullopt;
  std::optional<double> found;
  for (const ClientMetric& m : f->metric) {
    const LabelMap l = Labels(m);
    bool ok = true;
    for (const auto& [k, v] : match) ok = ok && l.count(k) && l.at(k) == v;
    if (!ok) continue;
    EXPECT_FALSE(found.has_value()) << name << ": more than one series matches";
    found = Value(*f, m);
    if (labels != nullptr) *labels = l;
  }
  return found;
}

// Every series that carries label `key` = `value`, as "name{labels}".
std::vector<std::string> SeriesWith(const std::vector<MetricFamily>& scrape,
                                    const std::string& key, const std::string& value) {
  std::vector<std::string> out;
  for (const MetricFamily& f : scrape) {
    for (const ClientMetric& m : f.metric) {
      const LabelMap l = Labels(m);
      if (l.count(key) && l.at(key) == value) out.push_back(f.name);
    }
  }
  return out;
}

// Pool series and the PoolInfo fields they come from (docs/kernel/page-pool.md §2.4, §6.1).
std::map<std::string, double> ExpectedPoolValues(const sim::PoolInfo& p) {
  auto d = [](auto v) { return static_cast<double>(v); };
  std::map<std::string, double> v = {
      {"ppsim_page_pool_inflight_pages", d(p.inflight)},
      {"ppsim_page_pool_inflight_bytes", d(p.inflight_mem)},
      {"ppsim_page_pool_alloc_fast_total", d(p.alloc.fast)},
      {"ppsim_page_pool_alloc_slow_total", d(p.alloc.slow)},
      {"ppsim_page_pool_alloc_slow_high_order_total", d(p.alloc.slow_high_order)},
      {"ppsim_page_pool_alloc_empty_total", d(p.alloc.empty)},
      {"ppsim_page_pool_alloc_refill_total", d(p.alloc.refill)},
      {"ppsim_page_pool_alloc_waive_total", d(p.alloc.waive)},
      {"ppsim_page_pool_recycle_cached_total", d(p.recycle.cached)},
      {"ppsim_page_pool_recycle_cache_full_total", d(p.recycle.cache_full)},
      {"ppsim_page_pool_recycle_ring_total", d(p.recycle.ring)},
      {"ppsim_page_pool_recycle_ring_full_total", d(p.recycle.ring_full)},
      {"ppsim_page_pool_recycle_released_refcnt_total", d(p.recycle.released_refcnt)},
      {"ppsim_page_pool_lock_hold_seconds_max", d(p.costs.max_lock_hold_ns) / 1e9},
      {"ppsim_page_pool_strategy_memory_bytes", d(p.costs.memory_bytes)},
  };
  if (p.detach_time) v["ppsim_page_pool_detach_time_seconds"] = d(*p.detach_time);
  return v;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::shared_ptr<service::LabEntry>> e =
        registry_.Create("metrics", sim::LabConfig{.profile = "v6.8"});
    ASSERT_TRUE(e.ok()) << e.status();
    entry_ = *e;
    lab_ = std::to_string(entry_->id);
  }

  std::vector<MetricFamily> Scrape() const { return collectable_->Collect(); }
  sim::PoolInfo Pool(uint32_t id) const {
    ppsim::MutexLock lock(&entry_->mu);
    absl::StatusOr<sim::PoolInfo> p = entry_->lab->GetPool(id);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : sim::PoolInfo{};
  }

  // Every pool series of `pool` carries the expected labels and the value GetPool reports.
  // `ifindex`: the netdev the pool was created for, kept when netlink omits it (orphaned).
  void ExpectPoolMatchesGetPool(const std::vector<MetricFamily>& scrape, uint32_t pool,
                                uint32_t ifindex) {
    const sim::PoolInfo info = Pool(pool);
    LabelMap want = {{"lab", lab_}, {"pool", std::to_string(pool)}, {"strategy", info.strategy}};
    if (ifindex != 0) want["ifindex"] = std::to_string(ifindex);
    for (const auto& [name, value] : ExpectedPoolValues(info)) {
      LabelMap labels;
      const std::optional<double> got = Series(scrape, name, {{"lab", lab_}, {"pool", want["pool"]}},
                                               &labels);
      ASSERT_TRUE(got.has_value()) << name << " has no series for pool " << pool;
      EXPECT_DOUBLE_EQ(*got, value) << name;
      EXPECT_EQ(labels, want) << name;
    }
  }

  service::LabRegistry registry_{nullptr};
  RegistryLabSource source_{&registry_};  // as ppsimd wires it
  std::shared_ptr<prometheus::Collectable> collectable_ = MakeLabCollectable(&source_);
  std::shared_ptr<service::LabEntry> entry_;
  std::string lab_;
};

TEST_F(MetricsTest, PoolSeriesEqualGetPool) {
  const Nic nic = BindNic(registry_, entry_->id);
  const std::vector<v1::PageRef> pages = AllocPages(registry_, entry_->id, nic.pool, 3);
  ASSERT_EQ(pages.size(), 3u);
  PutPage(registry_, entry_->id, pages[0]);  // a direct recycle into the alloc cache

  const std::vector<MetricFamily> scrape = Scrape();
  ExpectPoolMatchesGetPool(scrape, nic.pool, nic.ifindex);
  const sim::PoolInfo info = Pool(nic.pool);
  EXPECT_GT(info.inflight, 0u) << "the scenario must exercise the values it checks";
  EXPECT_GT(info.alloc.slow + info.alloc.fast, 0u);
  EXPECT_FALSE(Series(scrape, "ppsim_page_pool_detach_time_seconds", {{"lab", lab_}}).has_value())
      << "detach-time is absent while the pool is attached";

  uint64_t mapped = 0;
  {
    ppsim::MutexLock lock(&entry_->mu);
    mapped = sim::LabTestPeer::machine(*entry_->lab).devices.at(nic.device)->domain.mapped_pages();
  }
  EXPECT_GT(mapped, 0u);
  EXPECT_EQ(Series(scrape, "ppsim_iommu_mapped_pages",
                   {{"lab", lab_}, {"device", std::to_string(nic.device)}}),
            static_cast<double>(mapped));
  EXPECT_EQ(Series(scrape, "ppsim_ops_total", {{"lab", lab_}, {"op", "page_pool_alloc_pages"}}),
            static_cast<double>(entry_->ops_by_name.at("page_pool_alloc_pages")));
  EXPECT_EQ(Series(scrape, "ppsim_labs", {}), 1.0);
  LabelMap build;
  EXPECT_EQ(Series(scrape, "ppsim_build_info", {}, &build), 1.0);
  EXPECT_FALSE(build["version"].empty());
  EXPECT_EQ(Series(scrape, "ppsim_virtual_time_seconds", {{"lab", lab_}}),
            static_cast<double>(entry_->lab->now()) / 1e9);
  // Fault sites are known in advance, so they are exported at zero.
  EXPECT_EQ(Series(scrape, "ppsim_faults_injected_total",
                   {{"lab", lab_}, {"site", "fail_page_alloc"}}),
            0.0);
}

TEST_F(MetricsTest, InjectedFaultsAreCountedBySite) {
  v1::Op fault;
  fault.mutable_set_fault()->set_site("fail_page_alloc");
  fault.mutable_set_fault()->set_times(1);
  MustApply(registry_, entry_->id, fault);
  v1::Op alloc;
  alloc.mutable_alloc_page();
  MustApply(registry_, entry_->id, alloc);
  const uint64_t injected =
      sim::LabTestPeer::machine(*entry_->lab).faults.injected(sim::FaultSite::kFailPageAlloc);
  EXPECT_EQ(injected, 1u);
  EXPECT_EQ(Series(Scrape(), "ppsim_faults_injected_total",
                   {{"lab", lab_}, {"site", "fail_page_alloc"}}),
            static_cast<double>(injected));
}

// docs/kernel/page-pool.md §4.4: unbind with a page in flight leaves the pool detached (detach-time
// set) and its mapping pending (PP005). Returning the page frees the pool; its series go.
TEST_F(MetricsTest, DetachedPoolThenFreedPool) {
  const Nic nic = BindNic(registry_, entry_->id);
  const std::vector<v1::PageRef> pages = AllocPages(registry_, entry_->id, nic.pool, 1);
  ASSERT_EQ(pages.size(), 1u);
  Advance(registry_, entry_->id, 3 * kSecondNs);  // a detach-time that is not 0
  Unbind(registry_, entry_->id, nic.device);
  ASSERT_EQ(entry_->lab->violation_count(sim::ViolationId::kPP005), 1u);

  const std::vector<MetricFamily> detached = Scrape();
  const sim::PoolInfo info = Pool(nic.pool);
  ASSERT_EQ(info.state, sim::PoolState::kDetached);
  ASSERT_TRUE(info.detach_time.has_value());
  EXPECT_EQ(Series(detached, "ppsim_page_pool_detach_time_seconds",
                   {{"lab", lab_}, {"pool", std::to_string(nic.pool)}}),
            static_cast<double>(*info.detach_time));
  EXPECT_GE(*info.detach_time, 3);
  EXPECT_FALSE(info.ifindex.has_value()) << "netlink omits the ifindex of an orphaned pool";
  ExpectPoolMatchesGetPool(detached, nic.pool, nic.ifindex);

  // PP005 counts under the catalog's severity; its strategy label is the model's.
  const sim::CatalogEntry& pp005 = sim::CatalogOf(sim::ViolationId::kPP005);
  for (const auto& [key, count] : sim::LabTestPeer::machine(*entry_->lab).counts_by_strategy()) {
    const sim::CatalogEntry& c = sim::CatalogOf(key.first);
    LabelMap labels;
    EXPECT_EQ(Series(detached, "ppsim_violations_total",
                     {{"lab", lab_}, {"id", std::string(c.code)}, {"strategy", key.second}},
                     &labels),
              static_cast<double>(count));
    EXPECT_EQ(labels, (LabelMap{{"lab", lab_},
                                {"id", std::string(c.code)},
                                {"severity", std::string(sim::SeverityName(c.severity))},
                                {"strategy", key.second}}));
  }
  EXPECT_TRUE(Series(detached, "ppsim_violations_total",
                     {{"lab", lab_}, {"id", "PP005"},
                      {"severity", std::string(sim::SeverityName(pp005.severity))}})
                  .has_value());
  // The held page keeps its mapping past unbind: the device is still there with it.
  EXPECT_EQ(
      Series(detached, "ppsim_iommu_mapped_pages",
             {{"lab", lab_}, {"device", std::to_string(nic.device)}}),
      static_cast<double>(
          sim::LabTestPeer::machine(*entry_->lab).devices.at(nic.device)->domain.mapped_pages()));

  PutPage(registry_, entry_->id, pages[0]);
  Advance(registry_, entry_->id, 2 * kSecondNs);  // the release retry runs every second
  ASSERT_EQ(Pool(nic.pool).state, sim::PoolState::kFreed);
  const std::vector<MetricFamily> freed = Scrape();
  EXPECT_EQ(SeriesWith(freed, "pool", std::to_string(nic.pool)), std::vector<std::string>{});
  EXPECT_TRUE(Series(freed, "ppsim_violations_total", {{"lab", lab_}, {"id", "PP005"}}).has_value())
      << "lab-level counters outlive the pool";
}

// Counters of a live lab never go down between scrapes, whatever the ops did.
TEST_F(MetricsTest, CountersNeverDecrease) {
  const Nic nic = BindNic(registry_, entry_->id);
  std::vector<v1::PageRef> pages = AllocPages(registry_, entry_->id, nic.pool, 4);
  const std::vector<MetricFamily> before = Scrape();
  for (const v1::PageRef& p : pages) PutPage(registry_, entry_->id, p);
  pages = AllocPages(registry_, entry_->id, nic.pool, 2);
  Unbind(registry_, entry_->id, nic.device);
  const std::vector<MetricFamily> after = Scrape();
  int compared = 0;
  for (const MetricFamily& f : before) {
    if (f.type != MetricType::Counter) continue;
    for (const ClientMetric& m : f.metric) {
      const std::optional<double> now = Series(after, f.name, Labels(m));
      ASSERT_TRUE(now.has_value()) << f.name << " disappeared while its pool and lab live";
      EXPECT_GE(*now, m.counter.value) << f.name;
      ++compared;
    }
  }
  EXPECT_GT(compared, 10);
}

TEST_F(MetricsTest, DeletedLabSeriesDisappear) {
  BindNic(registry_, entry_->id);
  absl::StatusOr<std::shared_ptr<service::LabEntry>> other =
      registry_.Create("other", sim::LabConfig{.profile = "v6.8"});
  ASSERT_TRUE(other.ok()) << other.status();
  const std::string other_lab = std::to_string((*other)->id);
  BindNic(registry_, (*other)->id);

  EXPECT_EQ(Series(Scrape(), "ppsim_labs", {}), 2.0);
  ASSERT_TRUE(registry_.Delete(entry_->id).ok());
  const std::vector<MetricFamily> scrape = Scrape();
  EXPECT_EQ(SeriesWith(scrape, "lab", lab_), std::vector<std::string>{});
  EXPECT_FALSE(SeriesWith(scrape, "lab", other_lab).empty());
  EXPECT_EQ(Series(scrape, "ppsim_labs", {}), 1.0);
}

// docs/design.md §5, cpp-service-conventions.md §3.3: one prefix, base units, _total counters, and
// labels from a closed set (never a page, IOVA or skb).
TEST_F(MetricsTest, NamesTypesAndLabelsFollowTheRules) {
  const Nic nic = BindNic(registry_, entry_->id);
  AllocPages(registry_, entry_->id, nic.pool, 1);
  Unbind(registry_, entry_->id, nic.device);  // detached pool, PP005

  const std::set<std::string> allowed = {"lab", "pool", "ifindex", "strategy", "device", "id",
                                         "severity", "site", "op", "method", "code", "version", "kind"};
  const std::map<std::string, MetricType> want = {
      {"ppsim_page_pool_inflight_pages", MetricType::Gauge},
      {"ppsim_page_pool_inflight_bytes", MetricType::Gauge},
      {"ppsim_page_pool_detach_time_seconds", MetricType::Gauge},
      {"ppsim_page_pool_alloc_fast_total", MetricType::Counter},
      {"ppsim_page_pool_alloc_slow_total", MetricType::Counter},
      {"ppsim_page_pool_alloc_slow_high_order_total", MetricType::Counter},
      {"ppsim_page_pool_alloc_empty_total", MetricType::Counter},
      {"ppsim_page_pool_alloc_refill_total", MetricType::Counter},
      {"ppsim_page_pool_alloc_waive_total", MetricType::Counter},
      {"ppsim_page_pool_recycle_cached_total", MetricType::Counter},
      {"ppsim_page_pool_recycle_cache_full_total", MetricType::Counter},
      {"ppsim_page_pool_recycle_ring_total", MetricType::Counter},
      {"ppsim_page_pool_recycle_ring_full_total", MetricType::Counter},
      {"ppsim_page_pool_recycle_released_refcnt_total", MetricType::Counter},
      {"ppsim_page_pool_lock_hold_seconds_max", MetricType::Gauge},
      {"ppsim_page_pool_strategy_memory_bytes", MetricType::Gauge},
      {"ppsim_iommu_mapped_pages", MetricType::Gauge},
      {"ppsim_iommu_faults_total", MetricType::Counter},
      {"ppsim_violations_total", MetricType::Counter},
      {"ppsim_faults_injected_total", MetricType::Counter},
      {"ppsim_ops_total", MetricType::Counter},
      {"ppsim_labs", MetricType::Gauge},
      {"ppsim_build_info", MetricType::Gauge},
      {"ppsim_virtual_time_seconds", MetricType::Gauge},
  };
  std::map<std::string, MetricType> got;
  for (const MetricFamily& f : Scrape()) {
    got[f.name] = f.type;
    EXPECT_FALSE(f.help.empty()) << f.name;
    EXPECT_TRUE(absl::StartsWith(f.name, "ppsim_")) << f.name;
    EXPECT_EQ(f.type == MetricType::Counter, absl::EndsWith(f.name, "_total")) << f.name;
    for (const ClientMetric& m : f.metric) {
      for (const ClientMetric::Label& l : m.label) {
        EXPECT_TRUE(allowed.count(l.name)) << f.name << " has label " << l.name;
      }
    }
  }
  EXPECT_EQ(got, want);
}

TEST(RpcMetricsTest, ObservesByMethodAndCodeName) {
  prometheus::Registry registry;
  RpcMetrics rpc(registry);
  rpc.Observe("ppsim.v1.OpsService/Apply", 0, 0.002);
  rpc.Observe("ppsim.v1.OpsService/Apply", 0, 0.004);
  rpc.Observe("ppsim.v1.LabService/GetLab", 5, 0.0001);
  const std::vector<MetricFamily> scrape = registry.Collect();
  const MetricFamily* f = Family(scrape, "ppsim_rpc_handling_seconds");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->type, MetricType::Histogram);
  std::map<LabelMap, uint64_t> counts;
  for (const ClientMetric& m : f->metric) counts[Labels(m)] = m.histogram.sample_count;
  EXPECT_EQ(counts, (std::map<LabelMap, uint64_t>{
                        {{{"method", "ppsim.v1.OpsService/Apply"}, {"code", "OK"}}, 2},
                        {{{"method", "ppsim.v1.LabService/GetLab"}, {"code", "NOT_FOUND"}}, 1},
                    }));
}

// The exposition a scrape returns passes promtool's parser and linter.
TEST_F(MetricsTest, PromtoolCheckMetricsPasses) {
  constexpr const char* kPromtool = "/usr/bin/promtool";
  if (access(kPromtool, X_OK) != 0) {
    GTEST_SKIP() << kPromtool << " not found (Debian package `prometheus`); "
                 << "cannot lint the exposition";
  }
  const Nic nic = BindNic(registry_, entry_->id);
  AllocPages(registry_, entry_->id, nic.pool, 2);
  Unbind(registry_, entry_->id, nic.device);  // detached pool, PP005
  prometheus::Registry registry;
  RpcMetrics rpc(registry);
  rpc.Observe("ppsim.v1.OpsService/Apply", 0, 0.001);

  std::vector<MetricFamily> all = Scrape();
  for (MetricFamily& f : registry.Collect()) all.push_back(std::move(f));
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, all);

  const std::filesystem::path file = std::filesystem::path(::testing::TempDir()) /
                                     ("ppsim_metrics_" + std::to_string(getpid()) + ".prom");
  std::ofstream(file) << text.str();
  const std::string cmd = std::string(kPromtool) + " check metrics < " + file.string() + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
  const int status = pclose(pipe);
  std::filesystem::remove(file);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << out << "\n--- exposition ---\n" << text.str();
  EXPECT_EQ(out, "") << "promtool lint problems:\n" << out;
}

// ppsim_lab_recovery_diverged{lab}: 1 for a lab whose rebuild from the journal diverged
// (LabEntry::recovery_problem, set by LabRegistry::Recover), no series for the others.
TEST_F(MetricsTest, RecoveryDivergedIsAGaugeOfDivergedLabsOnly) {
  absl::StatusOr<std::shared_ptr<service::LabEntry>> other =
      registry_.Create("other", sim::LabConfig{.profile = "v6.8"});
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(Series(Scrape(), "ppsim_lab_recovery_diverged", {}), std::nullopt)
      << "nothing diverged: no family at all";
  {
    ppsim::MutexLock lock(&entry_->mu);
    entry_->recovery_problem = "batch at op 3 (2 ops): digest after op 5 differs";
  }
  const std::vector<MetricFamily> scrape = Scrape();
  EXPECT_EQ(Series(scrape, "ppsim_lab_recovery_diverged", {{"lab", lab_}}), 1.0);
  EXPECT_EQ(Series(scrape, "ppsim_lab_recovery_diverged", {{"lab", std::to_string((*other)->id)}}),
            std::nullopt);
  for (const MetricFamily& f : scrape) {
    if (f.name != "ppsim_lab_recovery_diverged") continue;
    EXPECT_EQ(f.type, MetricType::Gauge);
    ASSERT_EQ(f.metric.size(), 1u);
    EXPECT_EQ(Labels(f.metric[0]), (LabelMap{{"lab", lab_}}));
  }
}

}  // namespace
}  // namespace ppsim::metrics
