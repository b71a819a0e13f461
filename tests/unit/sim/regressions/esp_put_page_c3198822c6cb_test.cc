// B6: IPsec ESP output released the original frag pages of a pp skb with put_page. Fixed by
// c3198822c6cb "net: esp: fix bad handling of pages from page_pool" (6.9-rc), which releases
// them through skb_page_unref(page, skb->pp_recycle). docs/kernel/skb-and-iommu.md §2.1 B6 steps
// 1–2, §8 scenario 6, §1.1 step 3.
//
// The skb holds pp references on its pool pages. A put_page drops a page reference instead:
// the pp reference is never returned to the pool (inflight stuck) and the page's only ordinary
// reference — the pool's own — goes, so it reaches rc 0 with the signature set: "Bad page
// state … page dumped because: page_pool leak" (PP011). With the fix the pages go back to the
// pool through napi_pp_put_page.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::BindNic;
using testing::kNapiCpu0;
using testing::MakeLab;
using testing::MustApply;

constexpr uint32_t kFrags = 2;

struct Outcome {
  uint64_t pp011 = 0;
  uint64_t total = 0;
  bool ref_mismatch_recorded = false;
  uint32_t pages_back_in_pool = 0;
  int64_t outside = 0;                  // pool pages handed out and never given back
  uint64_t inflight_after_destroy = 0;  // page_pool_destroy emptied cache and ring
};

Outcome RunStory(const std::string& profile, const std::string& esp_switch = "") {
  LabConfig cfg;
  cfg.profile = profile;
  if (!esp_switch.empty()) cfg.profile_switches = {{"esp_releases_with_put_page", esp_switch}};
  auto lab = MakeLab(cfg);
  const testing::Nic nic = BindNic(*lab, {.flags = 1});
  const std::vector<PageRef> pages = testing::Alloc(*lab, nic.pool, kFrags);
  op::SkbBuild build;
  for (const PageRef& r : pages) build.frags.push_back({.page = r.page});
  const uint32_t skb = MustApply(*lab, build, kNapiCpu0).skbs.at(0);
  const uint64_t first_op = testing::NextOpIndex(*lab);
  // Step 1: ESP output (non-inline crypto) releases the original frag pages itself.
  MustApply(*lab, op::EspReleaseFrags{.skb = skb}, kNapiCpu0);
  MustApply(*lab, op::KfreeSkb{.skb = skb}, kNapiCpu0);
  Outcome out;
  out.pp011 = lab->violation_count(ViolationId::kPP011);
  out.total = lab->violation_total();
  for (const PageRef& r : pages) {
    if (testing::PageEventSince(*lab, r.page.pfn, PageEventKind::kRefMismatch, first_op)) {
      out.ref_mismatch_recorded = true;
    }
    const FrameState st = testing::Page(*lab, r).state;
    if (st == FrameState::kPoolCache || st == FrameState::kPoolRing) ++out.pages_back_in_pool;
  }
  out.outside = testing::PagesOutsidePool(testing::Pool(*lab, nic.pool));
  MustApply(*lab, op::UnbindDriver{.device = nic.dev});
  out.inflight_after_destroy = testing::Pool(*lab, nic.pool).inflight;
  return out;
}

// Step 2: pp count never returned, rc reaches 0 with the signature set.
TEST(EspPutPageC3198822c6cb, PutPageOnPpFragsLeaksThemAndInflightSticks) {
  const Outcome o = RunStory("v6.8");  // esp_releases_with_put_page
  EXPECT_EQ(o.pp011, kFrags);
  EXPECT_EQ(o.total, kFrags);
  EXPECT_TRUE(o.ref_mismatch_recorded) << "a page reference dropped for a pp reference held";
  EXPECT_EQ(o.pages_back_in_pool, 0u);
  EXPECT_EQ(o.outside, int64_t{kFrags});
  EXPECT_EQ(o.inflight_after_destroy, kFrags) << "the pool's inflight never drains";
}

TEST(EspPutPageC3198822c6cb, TheSwitchAloneBringsTheBugBack) {
  const Outcome o = RunStory("v6.15", "true");
  EXPECT_EQ(o.pp011, kFrags);
  EXPECT_EQ(o.inflight_after_destroy, kFrags);
}

TEST(EspPutPageC3198822c6cb, SkbPageUnrefReturnsThePagesToThePool) {
  const Outcome o = RunStory("v6.15");
  EXPECT_EQ(o.total, 0u);
  EXPECT_FALSE(o.ref_mismatch_recorded);
  EXPECT_EQ(o.pages_back_in_pool, kFrags);
  EXPECT_EQ(o.outside, 0);
  EXPECT_EQ(o.inflight_after_destroy, 0u);
}

}  // namespace
}  // namespace ppsim::sim
