// ppsim_bench_rpc: the API's throughput against a real ppsimd on loopback, next to the same ops
// applied in-process (issue 4: >= 2 M ops/s batched, >= 25 % of in-process, unary >= 20 k RPC/s
// with 2 client threads). The daemon is started once from --ppsimd=PATH (default: the ppsimd
// of this build tree) with free ports and a --ready-file.
//
// The op mix is get_page/put_page pairs on one page: every op is validated, resolved, changes a
// refcount, records a page event and mixes the digest — the model's per-op cost without
// allocator effects, so the numbers compare transport overhead with model work.
#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "ppsim/v1/service.grpc.pb.h"
#include "server/sim/lab.h"
#include "tests/bench/bench_daemon.h"

namespace {

using namespace ppsim;

std::string g_ppsimd;
ppsim::bench::BenchDaemon g_daemon;  // destroyed (SIGTERM) at exit
std::string g_target;

struct Remote {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::OpsService::Stub> ops;
  uint64_t lab = 0;
  v1::PageHandle page;

  Remote() {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one connection per client thread
    channel = grpc::CreateCustomChannel(g_target, grpc::InsecureChannelCredentials(), args);
    ops = v1::OpsService::NewStub(channel);
    auto labs = v1::LabService::NewStub(channel);
    grpc::ClientContext ctx;
    v1::CreateLabRequest req;
    v1::LabInfo info;
    if (!labs->CreateLab(&ctx, req, &info).ok()) std::abort();
    lab = info.id();
    v1::ApplyRequest setup;
    setup.set_lab(lab);
    setup.add_ops()->mutable_add_device();
    setup.add_ops()->mutable_bind_driver()->set_device(1);
    v1::Op* alloc = setup.add_ops();
    alloc->mutable_ctx()->set_kind(v1::CTX_SOFTIRQ);
    alloc->mutable_page_pool_alloc_pages()->set_pool(1);
    v1::ApplyResponse resp;
    grpc::ClientContext c2;
    if (!ops->Apply(&c2, setup, &resp).ok() || resp.has_rejected()) std::abort();
    page = resp.results(2).pages(0).page();
  }

  v1::ApplyRequest Batch(int n) const {
    v1::ApplyRequest req;
    req.set_lab(lab);
    for (int i = 0; i < n; ++i) {
      v1::Op* op = req.add_ops();
      if (i % 2 == 0) {
        *op->mutable_get_page()->mutable_page() = page;
      } else {
        *op->mutable_put_page()->mutable_page() = page;
      }
    }
    return req;
  }
};

// ops/s of BM_InProcess_Apply (registered first, so it runs first): the reference the RPC
// benchmarks report their fraction of.
double g_inprocess = 0;

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void BM_InProcess_Apply(benchmark::State& state) {
  auto lab = *sim::Lab::Create(sim::LabConfig{});
  lab->Apply({.body = sim::op::AddDevice{}}).IgnoreError();
  lab->Apply({.body = sim::op::BindDriver{.device = 1}}).IgnoreError();
  const sim::PageHandle page =
      lab->Apply({.ctx = {sim::CtxKind::kSoftirq, 0}, .body = sim::op::PagePoolAllocPages{.pool = 1}})
          ->pages.at(0).page;
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    (void)lab->Apply({.body = sim::op::GetPage{.page = page}});
    (void)lab->Apply({.body = sim::op::PutPage{.page = page}});
  }
  g_inprocess = static_cast<double>(state.iterations() * 2) / Seconds(t0);
  state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK(BM_InProcess_Apply);

// One Apply RPC of one op; each client thread has its own lab and connection.
void BM_Rpc_ApplyUnary(benchmark::State& state) {
  Remote r;
  const v1::ApplyRequest req = r.Batch(1);
  for (auto _ : state) {
    grpc::ClientContext ctx;
    v1::ApplyResponse resp;
    if (!r.ops->Apply(&ctx, req, &resp).ok()) state.SkipWithError("Apply failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Rpc_ApplyUnary)->Threads(2)->UseRealTime();

void BM_Rpc_ApplyBatch(benchmark::State& state) {
  Remote r;
  const int n = static_cast<int>(state.range(0));
  const v1::ApplyRequest req = r.Batch(n);
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    grpc::ClientContext ctx;
    v1::ApplyResponse resp;
    if (!r.ops->Apply(&ctx, req, &resp).ok() || resp.has_rejected()) state.SkipWithError("Apply failed");
  }
  const double rate = static_cast<double>(state.iterations() * n) / Seconds(t0);
  state.SetItemsProcessed(state.iterations() * n);
  if (g_inprocess > 0) state.counters["fraction_of_inprocess"] = rate / g_inprocess;
}
BENCHMARK(BM_Rpc_ApplyBatch)->Arg(1024)->UseRealTime();

void BM_Rpc_Stream(benchmark::State& state) {
  Remote r;
  const int n = static_cast<int>(state.range(0));
  const v1::ApplyRequest req = r.Batch(n);
  grpc::ClientContext ctx;
  auto stream = r.ops->Stream(&ctx);
  v1::ApplyResponse resp;
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (!stream->Write(req) || !stream->Read(&resp)) state.SkipWithError("Stream failed");
  }
  const double rate = static_cast<double>(state.iterations() * n) / Seconds(t0);
  stream->WritesDone();
  (void)stream->Finish();
  state.SetItemsProcessed(state.iterations() * n);
  if (g_inprocess > 0) state.counters["fraction_of_inprocess"] = rate / g_inprocess;
}
BENCHMARK(BM_Rpc_Stream)->Arg(1024)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  g_ppsimd = PPSIMD_PATH;  // the build tree's ppsimd; --ppsimd=PATH picks another
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--ppsimd=", 0) == 0) g_ppsimd = a.substr(9);
  }
  if (!std::filesystem::exists(g_ppsimd)) {
    std::fprintf(stderr, "ppsim_bench_rpc: ppsimd not found at %s (use --ppsimd=PATH)\n",
                 g_ppsimd.c_str());
    return 64;
  }
  benchmark::Initialize(&argc, argv);
  if (!g_daemon.Start(g_ppsimd, "ppsim_bench_rpc")) {
    std::fprintf(stderr, "ppsim_bench_rpc: ppsimd did not become ready\n");
    return 70;
  }
  g_target = g_daemon.target();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
