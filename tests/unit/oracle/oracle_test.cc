// client/oracle/oracle.h against real observations of Debian's 6.12.95 (tests/oracle/observed/
// 6.12/, copied from a scripts/oracle.sh run: measured data, not expectations).
#include "client/oracle/oracle.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/sim/kernel_profile.h"

namespace ppsim::oracle {
namespace {

using ::testing::HasSubstr;

const std::string kSequences = PPSIM_SOURCE_DIR "/tests/oracle/sequences";
const std::string kObserved = PPSIM_SOURCE_DIR "/tests/oracle/observed/6.12";

std::string Ops(const std::string& sequence) { return kSequences + "/" + sequence + ".ops"; }

TEST(KernelObservationTest, MapsTheKernelsIdsToTheSequencesIndices) {
  absl::StatusOr<KernelRun> k = ReadKernelObservation(kObserved + "/alloc-recycle-direct.json");
  ASSERT_TRUE(k.ok()) << k.status();
  absl::StatusOr<OpsFile> ops = ReadOpsFile(Ops("alloc-recycle-direct"));
  ASSERT_TRUE(ops.ok());
  EXPECT_EQ(k->ops.size(), ops->ops.size());  // the epilogue (reset) is not an op
  EXPECT_EQ(k->Version() + "+", k->kernel.substr(0, k->Version().size() + 1));
  // After page_pool_create netdev=1 napi=1 the dump lists the pool with the netdev's ifindex
  // and the NAPI's id, both found again as indices.
  const auto created = std::find_if(k->ops.begin(), k->ops.end(), [](const OpObs& o) {
    return o.line.rfind("page_pool_create", 0) == 0;
  });
  ASSERT_NE(created, k->ops.end());
  ASSERT_TRUE(created->netlink.has_value());
  ASSERT_EQ(created->netlink->size(), 1u);
  EXPECT_EQ((*created->netlink)[0].pool, 1);
  EXPECT_EQ((*created->netlink)[0].ifindex, "netdev 1");
  EXPECT_EQ((*created->netlink)[0].napi, "napi 1");
  // Pages handed out again are linked to the index that first had their frame.
  int reused = 0;
  for (const OpObs& o : k->ops) {
    for (const PageObs& p : o.pages) {
      if (p.same_pfn_as == 0) continue;
      ++reused;
      EXPECT_LT(p.same_pfn_as, p.page);
    }
  }
  EXPECT_GT(reused, 0);
}

// The skb part of an observation (tests/oracle/kmod/ppo_skb.c): skb_try_coalesce of an
// uncloned pp skb moved its frag into `to` and left `from` with no frag but its len (net/core/
// skbuff.c skb_try_coalesce leaves from->len for the caller's kfree_skb_partial); the cloned
// pp skb's frag went in with a second pp reference (skb_pp_frag_ref), the clone keeping it.
TEST(KernelObservationTest, ReadsTheSkbsAnOpTouched) {
  absl::StatusOr<KernelRun> k = ReadKernelObservation(kObserved + "/skb-coalesce.json");
  ASSERT_TRUE(k.ok()) << k.status();
  const OpObs& coalesce = k->ops.at(4);
  ASSERT_EQ(coalesce.line, "skb_try_coalesce to=1 from=2");
  ASSERT_EQ(coalesce.skbs.size(), 2u);
  const SkbObs& to = coalesce.skbs[0].skb == 1 ? coalesce.skbs[0] : coalesce.skbs[1];
  const SkbObs& from = coalesce.skbs[0].skb == 2 ? coalesce.skbs[0] : coalesce.skbs[1];
  EXPECT_EQ(to.state, "live");
  EXPECT_TRUE(to.pp_recycle);
  ASSERT_EQ(to.frags.size(), 2u);
  EXPECT_EQ(to.frags[1].page, 2);
  EXPECT_EQ(to.len, 8192);
  EXPECT_EQ(from.nr_frags, 0);
  EXPECT_EQ(from.len, 4096);
  const OpObs& cloned = k->ops.at(8);
  ASSERT_EQ(cloned.line, "skb_try_coalesce to=1 from=3");
  for (const SkbObs& s : cloned.skbs) {
    if (s.skb == 3) {
      EXPECT_EQ(s.dataref, 2);
    }
  }
  for (const PageObs& p : cloned.pages) {
    if (p.page == 3) {
      EXPECT_EQ(p.pp_ref, 2);
    }
  }
  EXPECT_EQ(k->ops.at(5).skbs.at(0).state, "freed");
}

TEST(KernelObservationTest, MalformedFileIsRefusedNamingIt) {
  absl::StatusOr<KernelRun> k = ParseKernelObservation("x.json", "{\"kernel\": 1}");
  ASSERT_TRUE(absl::IsInvalidArgument(k.status()));
  EXPECT_THAT(std::string(k.status().message()), HasSubstr("x.json"));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseKernelObservation("x.json", "[").status()));
}

// Debian's 6.12.95 carries the DMA-tracking backport of ee62ce7a1d90 ("page_pool: Track
// DMA-mapped pages and unmap them when destroying the pool", v6.15): page_pool_destroy
// unmaps every page still in flight (net/core/page_pool.c page_pool_scrub →
// page_pool_release_page_dma), and __page_pool_release_page_dma clears the page's address.
// The model's profiles before v6.15 run the `legacy` teardown, which keeps held pages mapped
// until they come back: the first difference is at the destroy.
TEST(OracleFixtureTest, DestroyHeldDmaDivergesAtTheDestroyOnV68) {
  absl::StatusOr<SequenceResult> r = CompareFiles(Ops("destroy-held-dma"), kObserved, "v6.8");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->kernel_version, "6.12.95");
  ASSERT_FALSE(r->comparison.agree());
  const Divergence& first = r->comparison.divergences[0];
  EXPECT_EQ(first.op, 5);
  EXPECT_EQ(first.line, "page_pool_destroy pool=1");
  EXPECT_EQ(first.field, "pool 1 held_dma_nonzero");
  EXPECT_EQ(first.kernel, "0");
  EXPECT_NE(first.model, "0");
  // The held pages themselves, at the same op.
  const auto page_dma = std::find_if(
      r->comparison.divergences.begin(), r->comparison.divergences.end(),
      [](const Divergence& d) { return d.op == 5 && d.field.find(" dma") != std::string::npos &&
                                       d.field.rfind("page ", 0) == 0; });
  ASSERT_NE(page_dma, r->comparison.divergences.end());
  EXPECT_EQ(page_dma->kernel, "0");
  EXPECT_EQ(page_dma->model, "nonzero");
}

// page_pool_napi_local (net/core/page_pool.c, 4a96a4e807c3, 6.10) lets a put without
// allow_direct recycle into the lockless cache when the pool's NAPI is being polled on this CPU
// (list_owner: ____napi_schedule .. napi_complete_done, net/core/dev.c). 6.12 does that for the
// put made inside the poll (@napi); v6.8 (8c48eea3adf3 era) promotes only the skb path, so its
// first difference is that put, which it sends to the ring. Outside the poll (@bh) both use the
// ring.
TEST(OracleFixtureTest, AllocRecycleDirectDivergesOnV68AtTheNapiPutWithoutAllowDirect) {
  absl::StatusOr<OpsFile> ops = ReadOpsFile(Ops("alloc-recycle-direct"));
  ASSERT_TRUE(ops.ok());
  absl::StatusOr<SequenceResult> r = CompareFiles(ops->path, kObserved, "v6.8");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_FALSE(r->comparison.agree());
  const Divergence& first = r->comparison.divergences[0];
  const OracleOp& op = ops->ops[first.op];
  EXPECT_EQ(op.name, "page_pool_put_page");
  EXPECT_EQ(op.ctx, OracleCtx::kNapi);
  EXPECT_FALSE(op.Bool("allow_direct", false));
  EXPECT_EQ(first.field, "pool 1 cache");
}

// The v6.12 profile is Debian's 6.12.95 (server/sim/kernel_profile.cc): every observed
// sequence agrees with it op for op, the DMA-tracking backport, NAPI polls, the unlink WARN and
// the stashed napi-id included.
TEST(OracleFixtureTest, EverySequenceAgreesWithV612) {
  int compared = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kSequences)) {
    if (entry.path().extension() != ".ops") continue;
    absl::StatusOr<SequenceResult> r = CompareFiles(entry.path().string(), kObserved, "v6.12");
    ASSERT_TRUE(r.ok()) << entry.path() << ": " << r.status();
    EXPECT_TRUE(r->comparison.agree())
        << entry.path().stem() << ": "
        << FormatDivergence(r->comparison.divergences.empty() ? Divergence{}
                                                               : r->comparison.divergences[0]);
    ++compared;
  }
  EXPECT_GE(compared, 21);  // 13 page_pool sequences, 8 skb ones
}

TEST(OracleFixtureTest, AllocRecycleRingAgrees) {
  absl::StatusOr<SequenceResult> r = CompareFiles(Ops("alloc-recycle-ring"), kObserved, "v6.8");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->comparison.agree())
      << FormatDivergence(r->comparison.divergences.empty() ? Divergence{}
                                                             : r->comparison.divergences[0]);
  EXPECT_EQ(r->ops, ReadOpsFile(Ops("alloc-recycle-ring"))->ops.size());
}

TEST(OracleFixtureTest, ObservationOfAnotherSequenceIsRefused) {
  absl::StatusOr<OpsFile> ops = ReadOpsFile(Ops("destroy-held-dma"));
  absl::StatusOr<KernelRun> other = ReadKernelObservation(kObserved + "/alloc-recycle-direct.json");
  ASSERT_TRUE(ops.ok() && other.ok());
  absl::StatusOr<SequenceResult> r = CompareSequence(*ops, *other, "v6.8");
  ASSERT_TRUE(absl::IsInvalidArgument(r.status()));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("not an observation of this sequence"));
}

TEST(OracleFixtureTest, MissingObservationIsNotFound) {
  const std::string dir = ::testing::TempDir();
  EXPECT_TRUE(absl::IsNotFound(CompareFiles(Ops("destroy-held-dma"), dir, "v6.8").status()));
}

// Profiles are kernel eras (docs/design.md §3.7): a series without its own profile gets the newest
// older one.
TEST(OracleTest, ProfileForSeriesIsTheSeriesOrTheNewestOlderProfile) {
  ASSERT_TRUE(sim::FindProfile("v6.8").ok());
  EXPECT_EQ(ProfileForSeries("6.8").value(), "v6.8");
  EXPECT_EQ(ProfileForSeries("6.9").value(), "v6.8");
  EXPECT_EQ(ProfileForSeries("6.1").value(), "v6.1");
  EXPECT_EQ(ProfileForSeries("6.12").value(), "v6.12");
  EXPECT_EQ(ProfileForSeries("6.13").value(), "v6.12");
  EXPECT_EQ(ProfileForSeries("7.3").value(), "v7.3");
  EXPECT_TRUE(absl::IsInvalidArgument(ProfileForSeries("4.19").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ProfileForSeries("six").status()));
}

}  // namespace
}  // namespace ppsim::oracle
