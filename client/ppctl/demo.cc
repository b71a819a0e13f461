// The seed thread's story (docs/kernel/page-pool.md §4.4), once per teardown strategy: a NIC driver
// with a DMA-mapping page_pool receives traffic, the stack keeps one page (an IPv4 fragment
// waiting in the defrag queue), the VF is disabled (driver unbind, then device removal), and
// 30 s later the defrag timeout frees the page back to the pool. The story is op lines
// (client/lib/op_line.h) on a DemoLab, so the embedded and the daemon run are the same ops.
#include "client/ppctl/demo.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/lib/op_line.h"
#include "client/ppctl/commands.h"
#include "client/ppctl/demo_lab.h"
#include "client/ppctl/remote.h"
#include "server/sim/teardown_strategy.h"

namespace ppsim::ppctl {

namespace {


v1::LabConfig StoryConfig(const std::string& strategy, uint64_t seed) {
  v1::LabConfig c;
  c.set_ram_bytes(uint64_t{384} << 30);  // Jesper's 384 GB box (the scan's cost is O(RAM))
  c.set_profile(strategy == "dma-tracking" ? "v6.15" : "v6.8");
  // The hns3 VF of the seed thread sits behind an arm64 SMMU, whose release path leaves the
  // device on iommu-dma until 280e5a301005: the late unmap oopses there. Behind Intel's IOMMU
  // the same story is clean on these kernels (the kernel oracle's edu rig, 6.1.176).
  c.set_iommu_model(strategy == "tce-wait" ? "ppc-ddw" : "arm-smmu");
  c.set_default_strategy(strategy);
  c.set_seed(seed);
  return c;
}

absl::StatusOr<StoryFacts> RunStory(DemoLab& lab, bool verbose) {
  auto apply = [&](const std::string& line) -> absl::StatusOr<v1::OpResult> {
    absl::StatusOr<v1::Op> op = client::ParseOpLine(line);
    if (!op.ok()) return absl::InternalError(absl::StrCat(line, ": ", op.status().message()));
    absl::StatusOr<v1::OpResult> r = lab.Apply(*op);
    if (verbose) {
      std::printf("    %s%s\n", client::FormatOpLine(*op).c_str(),
                  r.ok() ? "" : absl::StrCat("  => rejected: ", r.status().message()).c_str());
    }
    return r;
  };
  absl::StatusOr<v1::OpResult> dev = apply("add_device name=\"0000:7d:01.0\"");
  if (!dev.ok()) return dev.status();
  const uint32_t device = dev->device();
  absl::StatusOr<v1::OpResult> bound =
      apply(absl::StrCat("bind_driver device=", device, " flags=1"));  // PP_FLAG_DMA_MAP
  if (!bound.ok()) return bound.status();
  if (bound->pools_size() == 0) return absl::InternalError("bind_driver created no pool");
  const uint32_t pool = bound->pools(0);
  // NAPI receives 8 packets, one pool page each (skb_mark_for_recycle). Seven are consumed by
  // the stack at once; one is an IPv4 fragment whose queue waits for the rest.
  absl::StatusOr<v1::OpResult> rx =
      apply(absl::StrCat("page_pool_alloc_pages pool=", pool, " count=8 @softirq:0"));
  if (!rx.ok()) return rx.status();
  for (int i = 0; i < rx->pages_size(); ++i) {
    const v1::PageHandle& page = rx->pages(i).page();
    absl::StatusOr<v1::OpResult> skb =
        apply(absl::StrFormat("skb_build frags=0x%x/%d @softirq:0", page.pfn(), page.generation()));
    if (!skb.ok()) return skb.status();
    if (skb->skbs_size() == 0) return absl::InternalError("skb_build created no skb");
    (void)apply(absl::StrCat(i == 0 ? "stack_hold holder=defrag" : "napi_consume_skb",
                             " skb=", skb->skbs(0), " @softirq:0"));
  }
  // sriov_numvfs=0: driver unbind and device deletion.
  (void)apply(absl::StrCat("unbind_driver device=", device));
  (void)apply(absl::StrCat("remove_device device=", device));
  // ip_expire frees the fragment queue after 30 s; the page goes back to its pool.
  (void)apply("advance_time ns=180s");
  (void)apply("liveness_check");
  absl::StatusOr<StoryFacts> facts = lab.Facts(pool, device);
  if (facts.ok() && verbose) {
    for (const std::string& line : facts->kernel_log) std::printf("    %s\n", line.c_str());
  }
  return facts;
}

// Where the metrics of the kept labs are, and how to look at them.
void PrintMetricsHint(const DemoOptions& opts, const std::vector<std::string>& labs) {
  std::printf(
      "\nmetrics: %s\n"
      "  the demo's labs (%s) are kept so that their series stay; for example\n"
      "    curl -s %s | grep -E '^ppsim_(violations_total|page_pool_inflight_pages)"
      "\\{.*lab=\"(%s)\"'\n"
      "  delete them with `ppctl delete-lab --target %s --lab N`.\n",
      opts.metrics.c_str(), absl::StrJoin(labs, ", ").c_str(), opts.metrics.c_str(),
      absl::StrJoin(labs, "|").c_str(), opts.target.c_str());
}

}  // namespace

int RunDemo(const DemoOptions& opts) {
  const bool remote = !opts.target.empty();
  std::unique_ptr<client::Client> client;
  if (remote) {
    absl::StatusOr<std::unique_ptr<client::Client>> c =
        client::Client::Connect(opts.target, absl::Seconds(opts.connect_timeout_s),
                                opts.connection);
    if (!c.ok()) return Fail("demo", c.status());
    client = *std::move(c);
  }
  const bool keep = opts.keep || !opts.metrics.empty();
  std::printf(
      "ppsim demo (%s, seed %llu): a 384 GB machine, one NIC with a DMA-mapping\n"
      "page_pool behind an IOMMU; 8 RX pages, one kept 30 s by the IPv4 defrag queue while the\n"
      "VF is disabled (driver unbind + device removal), then returned to the pool.\n\n",
      remote ? absl::StrCat("ppsimd at ", opts.target).c_str() : "embedded lab",
      static_cast<unsigned long long>(opts.seed));
  std::printf("%-20s %-44s %10s %10s  %s\n", "strategy", "violations", "lock hold", "removal",
              "digest");
  std::string crash_story;
  std::vector<std::string> kept;
  for (const sim::StrategyInfo& s : sim::StrategyRegistry()) {
    const std::string name(s.name);
    if (opts.verbose) std::printf("\n== %s\n", name.c_str());
    const v1::LabConfig config = StoryConfig(name, opts.seed);
    absl::StatusOr<std::unique_ptr<DemoLab>> lab =
        remote ? NewRemoteLab(client.get(), absl::StrCat("demo-", name), config, keep)
               : NewEmbeddedLab(config);
    absl::StatusOr<StoryFacts> r = lab.ok() ? RunStory(**lab, opts.verbose) : lab.status();
    if (!r.ok()) {
      if (remote)
        return Fail("demo", absl::Status(r.status().code(),
                                         absl::StrCat(name, ": ", r.status().message())));
      std::fprintf(stderr, "demo: %s: %s\n", name.c_str(),
                   std::string(r.status().message()).c_str());
      return kExitInternal;
    }
    if (remote && keep) kept.push_back((*lab)->Id());
    std::vector<std::string> v;
    for (const auto& [id, n] : r->violations) v.push_back(absl::StrCat(id, "x", n));
    const std::string removal =
        r->removal_s.has_value() ? absl::StrFormat("%9.3fs", *r->removal_s) : "-";
    std::printf("%-20s %-44s %9.3fs %10s  %016llx\n", name.c_str(),
                v.empty() ? "none" : absl::StrJoin(v, " ").c_str(), r->lock_hold_s, removal.c_str(),
                static_cast<unsigned long long>(r->digest));
    if (crash_story.empty() && !r->first_crash.empty()) {
      crash_story = absl::StrCat("first crash under ", name, ":\n", r->first_crash);
    }
  }
  if (!crash_story.empty()) std::printf("\n%s\n", crash_story.c_str());
  std::printf(
      "\nPP001 = unmap after IOMMU teardown (the crash of the seed thread), PP005 = "
      "mappings alive at unbind,\nPP012 = stalled pool shutdown, PP013 = BH-disabled "
      "lock held too long, PP014 = removal blocked,\nPP017 = pages still in flight at "
      "the end. `ppctl demo -v` prints every op and kernel log line.\n");
  if (remote && !opts.metrics.empty()) PrintMetricsHint(opts, kept);
  if (remote && opts.metrics.empty() && keep) {
    std::printf("\nthe demo's labs are kept: %s (`ppctl labs --target %s`)\n",
                absl::StrJoin(kept, ", ").c_str(), opts.target.c_str());
  }
  return 0;
}

Command AddDemoCommand(CLI::App* root) {
  auto o = std::make_shared<DemoOptions>();
  CLI::App* cmd = root->add_subcommand(
      "demo",
      "run the unbind-with-pages-in-flight story once per teardown strategy and print "
      "what happened: on an embedded lab, or with --target on a running ppsimd");
  cmd->add_option("--seed", o->seed, "PRNG seed of the lab")->capture_default_str();
  cmd->add_flag("-v,--verbose", o->verbose,
                "print every op (and, embedded, every kernel log line)");
  cmd->add_option("--target", o->target, "run on the ppsimd at HOST:PORT instead of in-process");
  AddSecurityOptions(cmd, &o->connection);
  cmd->add_option("--connect-timeout", o->connect_timeout_s, "seconds to wait for the connection")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--metrics", o->metrics,
                  "the daemon's /metrics URL: keep the labs and print where their series are")
      ->needs("--target");
  cmd->add_flag("--keep", o->keep, "keep the daemon's labs (default: delete them)")
      ->needs("--target");
  return {cmd, [o] { return RunDemo(*o); }};
}

}  // namespace ppsim::ppctl
