// Load (issue 7): 32 concurrent clients against one ppsimd, each with its own Client (channel)
// and lab, each applying 100,000 ops in batches — half with unary Apply, half pipelined on
// OpsService.Stream. Checks: no RPC error and no rejected op; no lost or duplicated op (every
// lab's op count, from the last response and from GetLab, is exactly setup + 100,000); the
// daemon's peak RSS (VmHWM in /proc/<pid>/status, sampled VmRSS too) stays under kRssCapBytes.
// Prints the rates (total and per client); they are numbers to read, not assertions
// (conventions.md: benchmarks are never timed tests).
//
// The op mix is the one ppsim_bench_rpc uses: get_page/put_page pairs on a page the lab
// handed out, plus advance_time — each op is validated, resolved, changes a refcount, records a
// page event and mixes the digest, and every batch leaves the page as it found it.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/lib/client.h"
#include "client/lib/op_line.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"

namespace ppsim {
namespace {

constexpr int kClients = 32;
constexpr int kOpsPerClient = 100'000;
constexpr int kBatch = 1'000;  // ops per Apply / Stream message; kOpsPerClient is a multiple
constexpr int kStreamWindow = 4;  // batches a streaming client keeps in flight
constexpr int kSetupOps = 3;
// The daemon's resident-memory cap under this load: 1 GiB on a plain build, where 32 labs ×
// (100k-op trace + page event log + model state + journal) measured a 685-735 MiB VmHWM (dev
// preset, RelWithDebInfo). A leak of 100 bytes an op alone would add 0.3 GiB. Sanitizer builds
// run the same test with the cap scaled by their documented memory overhead (shadow memory,
// allocator quarantine): ×3 under ASan, ×8 under TSan.
// GCC defines __SANITIZE_*__; clang 14 (the asan preset) only answers __has_feature.
#if defined(__SANITIZE_THREAD__)
#define PPSIM_TSAN_BUILD 1
#elif defined(__SANITIZE_ADDRESS__)
#define PPSIM_ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PPSIM_TSAN_BUILD 1
#elif __has_feature(address_sanitizer)
#define PPSIM_ASAN_BUILD 1
#endif
#endif
#if defined(PPSIM_TSAN_BUILD)
constexpr int64_t kRssScale = 8;
#elif defined(PPSIM_ASAN_BUILD)
constexpr int64_t kRssScale = 3;
#else
constexpr int64_t kRssScale = 1;
#endif
constexpr int64_t kRssCapBytes = (int64_t{1} << 30) * kRssScale;

static_assert(kOpsPerClient % kBatch == 0);

// A field of /proc/<pid>/status in bytes ("VmRSS:   123456 kB"), or -1.
int64_t ProcStatusBytes(pid_t pid, const std::string& field) {
  std::ifstream f(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    std::string digits;
    for (char c : line) {
      if (c >= '0' && c <= '9') digits.push_back(c);
    }
    int64_t kb = 0;
    return absl::SimpleAtoi(digits, &kb) ? kb * 1024 : -1;
  }
  return -1;
}

struct ClientResult {
  uint64_t lab = 0;
  bool streamed = false;
  uint64_t last_ops = 0;  // the lab's op count in the last response
  double seconds = 0;
  std::string error;  // "" = no error
};

std::vector<v1::Op> Batch(const v1::PageHandle& page) {
  std::vector<v1::Op> ops;
  ops.reserve(kBatch);
  for (int i = 0; i < kBatch; i += 2) {
    if (i % 100 == 98) {  // every 50th pair: time moves, still two ops
      ops.emplace_back().mutable_advance_time()->set_ns(1'000);
      ops.emplace_back().mutable_advance_time()->set_ns(1'000);
      continue;
    }
    *ops.emplace_back().mutable_get_page()->mutable_page() = page;
    *ops.emplace_back().mutable_put_page()->mutable_page() = page;
  }
  return ops;
}

// Checks one batch's response; "" when it is what a clean batch returns.
std::string CheckResponse(const v1::ApplyResponse& r, uint64_t expected_ops) {
  if (r.has_rejected()) return absl::StrCat("rejected: ", r.rejected().message());
  if (r.results_size() != kBatch) return absl::StrCat(r.results_size(), " results for ", kBatch);
  if (r.ops() != expected_ops) return absl::StrCat("lab at ", r.ops(), " ops, expected ", expected_ops);
  return "";
}

ClientResult RunClient(const std::string& target, int index) {
  ClientResult res;
  res.streamed = index % 2 == 1;
  absl::StatusOr<std::unique_ptr<client::Client>> c =
      client::Client::Connect(target, absl::Seconds(30));
  if (!c.ok()) return {.error = c.status().ToString()};
  v1::LabConfig config;
  config.set_seed(static_cast<uint64_t>(index) + 1);
  absl::StatusOr<uint64_t> lab = (*c)->CreateLab(absl::StrCat("load-", index), config);
  if (!lab.ok()) return {.error = lab.status().ToString()};
  res.lab = *lab;
  absl::StatusOr<std::vector<v1::Op>> setup = client::ParseOpLines(
      "add_device\nbind_driver device=1 flags=1\npage_pool_alloc_pages pool=1 count=1 @softirq:0\n");
  if (!setup.ok()) return {.error = setup.status().ToString()};
  absl::StatusOr<v1::ApplyResponse> r = (*c)->Apply(res.lab, *setup);
  if (!r.ok() || r->has_rejected() || r->results(2).pages_size() != 1) {
    res.error = absl::StrCat("setup: ", r.ok() ? r->ShortDebugString() : r.status().ToString());
    return res;
  }
  const std::vector<v1::Op> batch = Batch(r->results(2).pages(0).page());
  constexpr int kBatches = kOpsPerClient / kBatch;

  const absl::Time t0 = absl::Now();
  uint64_t expected = kSetupOps;
  if (!res.streamed) {
    for (int b = 0; b < kBatches && res.error.empty(); ++b) {
      absl::StatusOr<v1::ApplyResponse> a = (*c)->Apply(res.lab, batch);
      expected += kBatch;
      if (!a.ok()) {
        res.error = a.status().ToString();
      } else {
        res.error = CheckResponse(*a, expected);
        res.last_ops = a->ops();
      }
    }
  } else {
    absl::StatusOr<std::unique_ptr<client::OpStream>> s = (*c)->OpenStream();
    if (!s.ok()) return {.lab = res.lab, .streamed = true, .error = s.status().ToString()};
    int sent = 0;
    for (int received = 0; received < kBatches && res.error.empty(); ++received) {
      while (sent < kBatches && sent - received < kStreamWindow) {
        if (absl::Status st = (*s)->Send(res.lab, batch); !st.ok()) break;  // Receive says why
        ++sent;
      }
      absl::StatusOr<v1::ApplyResponse> a = (*s)->Receive();
      expected += kBatch;
      if (!a.ok()) {
        res.error = a.status().ToString();
      } else {
        res.error = CheckResponse(*a, expected);
        res.last_ops = a->ops();
      }
    }
    if (absl::Status end = (*s)->Finish(); !end.ok() && res.error.empty()) {
      res.error = absl::StrCat("stream end: ", end.ToString());
    }
  }
  res.seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  return res;
}

TEST(LoadTest, ThirtyTwoClientsEachWithTheirOwnLabLoseNoOpAndStayUnderTheRssCap) {
  std::unique_ptr<testing::DaemonProcess> d = testing::DaemonProcess::Start();
  ASSERT_NE(d, nullptr);
  const pid_t pid = d->pid();

  std::atomic<bool> done{false};
  std::atomic<int64_t> max_rss{0};
  std::thread sampler([&] {
    while (!done.load()) {
      const int64_t rss = ProcStatusBytes(pid, "VmRSS");
      int64_t prev = max_rss.load();
      while (rss > prev && !max_rss.compare_exchange_weak(prev, rss)) {
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  });

  const int64_t rss_idle = ProcStatusBytes(pid, "VmRSS");
  std::vector<ClientResult> results(kClients);
  const absl::Time t0 = absl::Now();
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
      threads.emplace_back([&, i] { results[i] = RunClient(d->grpc_target(), i); });
    }
    for (std::thread& t : threads) t.join();
  }
  const double wall = absl::ToDoubleSeconds(absl::Now() - t0);
  const int64_t hwm = ProcStatusBytes(pid, "VmHWM");
  done = true;
  sampler.join();

  // No lost op: each lab's count, as the daemon reports it now, is exactly what was sent.
  absl::StatusOr<std::unique_ptr<client::Client>> c =
      client::Client::Connect(d->grpc_target(), absl::Seconds(30));
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<double> rates;
  for (int i = 0; i < kClients; ++i) {
    SCOPED_TRACE(absl::StrCat("client ", i, results[i].streamed ? " (stream)" : " (unary)"));
    EXPECT_EQ(results[i].error, "");
    EXPECT_EQ(results[i].last_ops, uint64_t{kSetupOps + kOpsPerClient});
    if (results[i].lab == 0) continue;
    absl::StatusOr<v1::LabInfo> info = (*c)->GetLab(results[i].lab);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->ops(), uint64_t{kSetupOps + kOpsPerClient});
    EXPECT_EQ(info->name(), absl::StrCat("load-", i));
    if (results[i].seconds > 0) rates.push_back(kOpsPerClient / results[i].seconds);
  }
  absl::StatusOr<std::vector<v1::LabInfo>> labs = (*c)->ListLabs();
  ASSERT_TRUE(labs.ok());
  EXPECT_EQ(labs->size(), size_t{kClients}) << "one lab per client, no more";

  std::sort(rates.begin(), rates.end());
  const double total = static_cast<double>(kClients) * kOpsPerClient / wall;
  std::printf("load: %d clients x %d ops (batches of %d; %d unary, %d streamed) in %.2f s\n",
              kClients, kOpsPerClient, kBatch, kClients / 2, kClients / 2, wall);
  std::printf("load: total %.0f ops/s; per client min %.0f median %.0f max %.0f ops/s\n", total,
              rates.empty() ? 0.0 : rates.front(), rates.empty() ? 0.0 : rates[rates.size() / 2],
              rates.empty() ? 0.0 : rates.back());
  std::printf("load: ppsimd RSS idle %.1f MiB, sampled max %.1f MiB, VmHWM %.1f MiB (cap %.0f MiB)\n",
              rss_idle / 1048576.0, max_rss.load() / 1048576.0, hwm / 1048576.0,
              kRssCapBytes / 1048576.0);

  ASSERT_GT(hwm, 0) << "no VmHWM in /proc/" << pid << "/status";
  EXPECT_LT(hwm, kRssCapBytes) << "ppsimd's peak RSS is over the cap";
  EXPECT_LT(max_rss.load(), kRssCapBytes);

  std::optional<int> status = d->Terminate(absl::Seconds(30));
  ASSERT_TRUE(status.has_value()) << "ppsimd did not stop on SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << testing::DescribeWaitStatus(*status) << "\n" << d->log();
}

}  // namespace
}  // namespace ppsim
