// ppsim_bench_journal: what the journal (--durability, server/store/journal.h) costs an Apply
// batch. LabRegistry::Apply, the whole of OpsService/Apply between decoding and encoding, with
// no journal (--durability none), with SQLite in WAL mode (normal: survives kill -9) and with
// an fsync per commit (full: survives power loss), at 1, 64 and 1024 ops per batch. One commit
// per batch (group commit), so the cost per op falls with the batch size.
//
// The ops are get_page / put_page on one page, so a lab never fills: the cheapest ops the
// model has, which makes the journal's share of the time the largest it gets. Counter
// cost_vs_none: time per op over the same batch size without a journal (registered first).
// `full` measures the disk under the temporary directory ($TMPDIR).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/service/event_hub.h"
#include "server/service/lab_registry.h"
#include "server/store/journal.h"

namespace {

using namespace ppsim;
using Ops = google::protobuf::RepeatedPtrField<v1::Op>;

enum Durability { kNone = 0, kNormal = 1, kFull = 2 };

// Batches of `n` ops alternating get_page and put_page on `page`; with an odd `n` the next
// batch starts where this one stopped, so the page's refcount stays at 1 or 2.
Ops Batch(int n, const v1::PageHandle& page, bool start_with_get) {
  Ops ops;
  for (int i = 0; i < n; ++i) {
    v1::Op* op = ops.Add();
    if ((i % 2 == 0) == start_with_get) {
      *op->mutable_get_page()->mutable_page() = page;
    } else {
      *op->mutable_put_page()->mutable_page() = page;
    }
  }
  return ops;
}

// Seconds per op without a journal, by batch size: the reference for cost_vs_none.
std::map<int64_t, double> g_none;

void BM_Apply(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto durability = static_cast<Durability>(state.range(1));
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    absl::StrCat("ppsim_bench_journal.", getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::unique_ptr<store::Journal> journal;
  if (durability != kNone) {
    absl::StatusOr<std::unique_ptr<store::Journal>> j = store::Journal::Open(
        (dir / store::kJournalFileName).string(),
        durability == kFull ? store::Journal::Sync::kFull : store::Journal::Sync::kNormal);
    if (!j.ok()) {
      state.SkipWithError(std::string(j.status().message()).c_str());
      return;
    }
    journal = *std::move(j);
  }
  {
    service::EventHub hub;
    service::LabRegistry labs(&hub, journal.get());
    absl::StatusOr<std::shared_ptr<service::LabEntry>> e = labs.Create("bench", sim::LabConfig{});
    if (!e.ok()) std::abort();
    const uint64_t lab = (*e)->id;
    Ops setup;
    setup.Add()->mutable_add_device();
    setup.Add()->mutable_bind_driver()->set_device(1);
    v1::Op* alloc = setup.Add();
    alloc->mutable_ctx()->set_kind(v1::CTX_SOFTIRQ);
    alloc->mutable_page_pool_alloc_pages()->set_pool(1);
    absl::StatusOr<v1::ApplyResponse> r = labs.Apply(lab, setup);
    if (!r.ok() || r->has_rejected()) std::abort();
    const v1::PageHandle page = r->results(2).pages(0).page();
    const Ops first = Batch(n, page, true);
    const Ops second = Batch(n, page, n % 2 == 0);

    bool odd = false;
    const auto t0 = std::chrono::steady_clock::now();
    for (auto _ : state) {
      absl::StatusOr<v1::ApplyResponse> a = labs.Apply(lab, odd ? second : first);
      if (!a.ok() || a->has_rejected()) {
        state.SkipWithError("Apply failed");
        break;
      }
      odd = !odd;
    }
    const double per_op =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
        static_cast<double>(state.iterations() * n);
    state.SetItemsProcessed(state.iterations() * n);
    if (durability == kNone) {
      g_none[n] = per_op;
    } else if (g_none.count(n) != 0) {
      state.counters["cost_vs_none"] = per_op / g_none[n];
    }
  }
  journal.reset();
  std::filesystem::remove_all(dir);
  state.SetLabel(durability == kNone ? "none" : durability == kNormal ? "normal" : "full");
}
// ArgsProduct varies the first argument fastest: every `none` runs before the journaled runs.
BENCHMARK(BM_Apply)
    ->ArgNames({"batch", "durability"})
    ->ArgsProduct({{1, 64, 1024}, {kNone, kNormal, kFull}})
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
