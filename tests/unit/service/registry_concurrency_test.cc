// The daemon's shared state under concurrent callers, without gRPC in the way: what gRPC's
// handler threads do to the registry, the hub, the journal, the quota and the metrics
// collector, done from plain std::threads. Clients apply batches to their own labs and to one
// shared lab, a churn thread creates and deletes labs while another applies to them, watchers
// subscribe and unsubscribe while labs publish, a scraper reads every lab as Prometheus does.
//
// Under the tsan preset this is the test that checks ppsim's own locking (lab_registry.h: a
// lab's mutex, then the hub's, then a watcher's; the registry's map lock alone; the quota's
// leaf lock). The daemon's gRPC tests cannot: Debian's gRPC and Abseil are not built with
// TSan, so their synchronization is invisible to it (tests/tsan.supp). Everywhere else it
// checks that no acknowledged op is lost or reordered and that the journal written
// concurrently rebuilds every lab to its last acknowledged digest.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "prometheus/collectable.h"
#include "server/metrics/metrics.h"
#include "server/service/auth.h"
#include "server/service/event_hub.h"
#include "server/service/lab_registry.h"
#include "server/service/quota.h"
#include "server/service_metrics.h"
#include "server/store/journal.h"
#include "tests/unit/service/recording_sink.h"

namespace ppsim::service {
namespace {

using Ops = google::protobuf::RepeatedPtrField<v1::Op>;

Ops Parse(std::initializer_list<const char*> texts) {
  Ops ops;
  for (const char* t : texts) {
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(t, ops.Add())) << t;
  }
  return ops;
}

// One device bound with a dma-tracking pool (pool 1).
const Ops& BindOps() {
  static const Ops* ops = new Ops(Parse(
      {"add_device {}", "bind_driver { device: 1 flags: 1 strategy: 'dma-tracking' }"}));
  return *ops;
}

const Ops& Alloc() {
  static const Ops* ops =
      new Ops(Parse({"ctx { kind: CTX_SOFTIRQ } page_pool_alloc_pages { pool: 1 count: 2 }"}));
  return *ops;
}

// The pages `alloc` handed out go back, then time moves on.
Ops PutBack(const v1::ApplyResponse& alloc) {
  Ops ops;
  for (const v1::PageRef& p : alloc.results(0).pages()) {
    v1::Op* put = ops.Add();
    put->mutable_ctx()->set_kind(v1::CTX_SOFTIRQ);
    *put->mutable_napi_pp_put_page()->mutable_page() = p.page();
  }
  ops.Add()->mutable_advance_time()->set_ns(1000);
  return ops;
}

struct Acked {
  uint64_t digest = 0;
  uint64_t ops = 0;
};

class RegistryConcurrencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("ppsim_registry_concurrency_test.", getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / store::kJournalFileName).string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(RegistryConcurrencyTest, ConcurrentClientsWatchersScrapesAndChurnLoseNothing) {
  constexpr int kClients = 4;
  constexpr int kSharedClients = 2;
  constexpr int kRounds = 500;  // each round: one alloc batch, one put-back batch
  constexpr int kChurned = 100;

  absl::StatusOr<std::unique_ptr<store::Journal>> journal = store::Journal::Open(path_);
  ASSERT_TRUE(journal.ok()) << journal.status();
  std::map<uint64_t, Acked> acked;  // lab → last acknowledged batch, written after the joins
  uint64_t shared_lab = 0;
  std::vector<uint64_t> deleted;
  {
    EventHub hub;
    LabRegistry labs(&hub, journal->get());
    Quota quota;
    testing::RecordingSink everything;  // subscribed throughout
    ASSERT_TRUE(hub.Subscribe(&everything));
    RegistryLabSource source(&labs);
    std::shared_ptr<prometheus::Collectable> scrape = metrics::MakeLabCollectable(&source);

    auto create = [&](const std::string& owner) -> uint64_t {
      Identity who{owner, false};
      EXPECT_TRUE(quota.ReserveLab(who, 0).ok());
      absl::StatusOr<std::shared_ptr<LabEntry>> e = labs.Create("", sim::LabConfig{}, owner);
      EXPECT_TRUE(e.ok()) << e.status();
      if (!e.ok()) return 0;
      quota.AddLab(who, (*e)->id);
      absl::StatusOr<v1::ApplyResponse> r = labs.Apply((*e)->id, BindOps());
      EXPECT_TRUE(r.ok() && !r->has_rejected());
      return (*e)->id;
    };
    shared_lab = create("shared");
    std::vector<uint64_t> own(kClients);
    for (int c = 0; c < kClients; ++c) own[c] = create(absl::StrCat("client", c));

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> churn_lab{0};
    std::atomic<uint64_t> shared_batches{0};
    std::vector<Acked> last(kClients);
    std::vector<std::thread> threads;
    auto round = [&](uint64_t lab, Acked* out) -> bool {
      absl::StatusOr<v1::ApplyResponse> a = labs.Apply(lab, Alloc());
      if (!a.ok()) return false;
      EXPECT_FALSE(a->has_rejected()) << a->rejected().message();
      absl::StatusOr<v1::ApplyResponse> p = labs.Apply(lab, PutBack(*a));
      if (!p.ok()) return false;
      EXPECT_FALSE(p->has_rejected()) << p->rejected().message();
      if (out != nullptr) *out = Acked{p->digest(), p->ops()};
      return true;
    };
    for (int c = 0; c < kClients; ++c) {
      threads.emplace_back([&, c] {
        Identity who{absl::StrCat("client", c), false};
        for (int i = 0; i < kRounds; ++i) {
          absl::StatusOr<std::shared_ptr<LabEntry>> e = labs.Get(own[c]);
          ASSERT_TRUE(e.ok());
          ASSERT_TRUE(quota.AdmitBatch(who, **e, 1).ok());
          ASSERT_TRUE(round(own[c], &last[c]));
        }
      });
    }
    for (int c = 0; c < kSharedClients; ++c) {
      threads.emplace_back([&] {
        for (int i = 0; i < kRounds; ++i) {
          ASSERT_TRUE(round(shared_lab, nullptr));
          shared_batches += 2;
        }
      });
    }
    // Labs created, applied to from another thread and deleted under it.
    std::vector<uint64_t> churned;
    threads.emplace_back([&] {
      for (int i = 0; i < kChurned; ++i) {
        const uint64_t id = create("churn");
        churn_lab = id;
        round(id, nullptr);
        EXPECT_TRUE(labs.Delete(id).ok());
        quota.RemoveLab(id);
        churned.push_back(id);
      }
    });
    threads.emplace_back([&] {
      while (!stop) {
        if (const uint64_t id = churn_lab; id != 0) {
          // OK, or the lab was deleted between the two batches: FAILED_PRECONDITION.
          absl::StatusOr<v1::ApplyResponse> a = labs.Apply(id, Alloc());
          if (!a.ok()) {
            EXPECT_EQ(a.status().code(), absl::StatusCode::kFailedPrecondition);
          }
        }
      }
    });
    // Watchers come and go while labs publish.
    threads.emplace_back([&] {
      while (!stop) {
        absl::StatusOr<WatchSlot> slot = quota.AdmitWatch(Identity{"watcher", false});
        ASSERT_TRUE(slot.ok()) << slot.status();
        testing::RecordingSink brief;
        if (!hub.Subscribe(&brief)) break;
        std::this_thread::yield();
        hub.Unsubscribe(&brief);
      }
    });
    // Prometheus scrapes: every lab read under its lock.
    threads.emplace_back([&] {
      while (!stop) {
        EXPECT_FALSE(scrape->Collect().empty());
        for (const std::shared_ptr<LabEntry>& e : labs.List()) LabRegistry::Info(*e);
        quota.Owns("client0", own[0]);
      }
    });
    for (size_t t = 0; t < static_cast<size_t>(kClients + kSharedClients + 1); ++t) {
      threads[t].join();
    }
    stop = true;
    for (size_t t = kClients + kSharedClients + 1; t < threads.size(); ++t) threads[t].join();
    deleted = churned;
    EXPECT_EQ(quota.watches_of("watcher"), 0u) << "every watch slot went back";
    EXPECT_EQ(quota.labs_of("churn"), 0u) << "every churned lab went back";

    // Every acknowledged batch is in its lab, and nothing else: a client's last response is
    // its lab's state.
    for (int c = 0; c < kClients; ++c) {
      absl::StatusOr<std::shared_ptr<LabEntry>> e = labs.Get(own[c]);
      ASSERT_TRUE(e.ok());
      v1::LabInfo info = LabRegistry::Info(**e);
      EXPECT_EQ(info.digest(), last[c].digest) << "lab " << own[c];
      EXPECT_EQ(info.ops(), last[c].ops) << "lab " << own[c];
      EXPECT_EQ(info.ops(), BindOps().size() + kRounds * 4u) << "4 ops a round: alloc, 2 puts, advance_time";
      acked[own[c]] = last[c];
    }
    // The shared lab serialised both clients' batches: all of their ops, none lost.
    {
      absl::StatusOr<std::shared_ptr<LabEntry>> e = labs.Get(shared_lab);
      ASSERT_TRUE(e.ok());
      v1::LabInfo info = LabRegistry::Info(**e);
      EXPECT_EQ(shared_batches, 2u * kSharedClients * kRounds);
      EXPECT_EQ(info.ops(), BindOps().size() + kSharedClients * kRounds * 4u);
      acked[shared_lab] = Acked{info.digest(), info.ops()};
    }
    // Each lab's events reached the permanent watcher in the order the lab raised them: labs
    // publish under their own lock (lab_registry.cc).
    std::map<uint64_t, uint64_t> last_seq;
    for (const v1::Event& ev : everything.events()) {
      auto [it, fresh] = last_seq.try_emplace(ev.lab(), ev.seq());
      if (!fresh) {
        EXPECT_GT(ev.seq(), it->second) << "lab " << ev.lab();
        it->second = ev.seq();
      }
    }
    EXPECT_FALSE(last_seq.empty()) << "the labs raised events (pool notifications)";
    hub.Unsubscribe(&everything);
  }

  // The journal written by all of them rebuilds every live lab to its last acknowledged
  // state, and the churned labs stay deleted.
  journal->reset();
  absl::StatusOr<std::unique_ptr<store::Journal>> reopened = store::Journal::Open(path_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  LabRegistry rebuilt(nullptr, reopened->get());
  absl::StatusOr<store::RecoveryReport> report = rebuilt.Recover();
  ASSERT_TRUE(report.ok()) << report.status();
  for (const auto& [id, a] : acked) {
    absl::StatusOr<std::shared_ptr<LabEntry>> e = rebuilt.Get(id);
    ASSERT_TRUE(e.ok()) << e.status();
    v1::LabInfo info = LabRegistry::Info(**e);
    EXPECT_EQ(info.digest(), a.digest) << "lab " << id;
    EXPECT_EQ(info.ops(), a.ops) << "lab " << id;
    EXPECT_EQ(info.recovery_problem(), "") << "lab " << id;
  }
  ASSERT_EQ(deleted.size(), static_cast<size_t>(kChurned));
  for (uint64_t id : deleted) {
    EXPECT_EQ(rebuilt.Get(id).status().code(), absl::StatusCode::kFailedPrecondition) << id;
  }
}

}  // namespace
}  // namespace ppsim::service
