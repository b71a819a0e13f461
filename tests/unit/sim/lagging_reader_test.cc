// Lagging lockless readers (server/sim/lagging_reader.h; docs/kernel/skb-and-iommu.md §5.1–§5.3):
// a reader (GUP-fast, any RCU reader) loads a page pointer at `start` without a reference,
// may try_get it (folio_try_get: fails only at _refcount 0), and ends its section. An updater
// that unpublishes the page at u may free it only after GP(u) = max(u, end of every reader
// that started at or before u); readers that start after u do not extend it. put_page_rcu
// (call_rcu / mmu_gather) defers the owner's put to the end of that grace period.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::Advance;
using testing::InBuddy;
using testing::MakeLab;
using testing::MustApply;

struct Fixture {
  std::unique_ptr<Lab> lab = MakeLab(LabConfig{.profile = "v6.15"});
  // An ordinary page mapped into a user VMA (TCP receive zerocopy, §3.2).
  PageRef page = [this] {
    const PageRef p = MustApply(*lab, op::AllocPage{}).pages.at(0);
    MustApply(*lab, op::UserMap{.page = p.page});
    return p;
  }();

  uint32_t Begin() {
    return static_cast<uint32_t>(MustApply(*lab, op::ReaderBegin{.page = page.page}).value);
  }
  bool TryGet(uint32_t r) { return MustApply(*lab, op::ReaderTryGet{.reader = r}).value == 1; }
  void End(uint32_t r) { MustApply(*lab, op::ReaderEnd{.reader = r}); }
  void Unmap() { MustApply(*lab, op::UserUnmap{.page = page.page}); }
  void OwnerPut() { MustApply(*lab, op::PutPage{.page = page.page}); }
  void OwnerPutRcu() { MustApply(*lab, op::PutPageRcu{.page = page.page}); }
  PageInfo P() const { return testing::Page(*lab, page); }
  uint64_t PP010() const { return lab->violation_count(ViolationId::kPP010); }
};

// §5.2 steps 2–4: the reader loaded the PTE before the unmap and is still inside.
TEST(LaggingReaderTest, AReaderFromBeforeTheUnmapMakesAnImmediateFreeEarly) {
  Fixture f;
  const uint32_t r = f.Begin();
  Advance(*f.lab, kMicrosecond);
  f.Unmap();
  f.OwnerPut();
  ASSERT_EQ(f.PP010(), 1u);
  const Violation& v = *testing::ViolationsOf(*f.lab, ViolationId::kPP010)[0];
  EXPECT_EQ(v.pfn, f.page.page.pfn);
  EXPECT_NE(v.message.find(absl::StrCat("lockless reader ", r)), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("call_rcu"), std::string::npos) << v.message;
}

// §5.3: start(r) <= u counts, so a reader starting at the unmap's own tick blocks too.
TEST(LaggingReaderTest, AReaderStartingAtTheUnmapTickCounts) {
  Fixture f;
  f.Begin();
  f.Unmap();
  f.OwnerPut();
  EXPECT_EQ(f.PP010(), 1u);
}

// §5.3: "Readers that start after u do not extend it."
TEST(LaggingReaderTest, AReaderThatStartedAfterTheUnmapDoesNotBlock) {
  Fixture f;
  f.Unmap();
  Advance(*f.lab, kMicrosecond);
  f.Begin();
  f.OwnerPut();
  EXPECT_EQ(f.lab->violation_total(), 0u);
  EXPECT_TRUE(InBuddy(f.P()));
}

TEST(LaggingReaderTest, AReaderThatAlreadyEndedDoesNotBlock) {
  Fixture f;
  const uint32_t r = f.Begin();
  Advance(*f.lab, kMicrosecond);
  f.Unmap();
  f.End(r);
  f.OwnerPut();
  EXPECT_EQ(f.lab->violation_total(), 0u);
  EXPECT_TRUE(InBuddy(f.P()));
}

TEST(LaggingReaderTest, TryGetFailsOnAFreedPage) {
  Fixture f;
  const uint32_t r = f.Begin();
  f.OwnerPut();  // never unpublished: no grace period to check, the page is simply gone
  ASSERT_TRUE(InBuddy(f.P()));
  EXPECT_FALSE(f.TryGet(r));
  EXPECT_TRUE(InBuddy(f.P()));
  f.End(r);
  EXPECT_EQ(f.lab->violation_total(), 0u);
}

// §5.1: try-get on a live page, then the PTE re-check: unchanged keeps the reference (GUP
// returns the page), changed drops it.
TEST(LaggingReaderTest, TryGetTakesAReferenceTheRecheckKeepsOrDrops) {
  Fixture f;
  const uint32_t kept = f.Begin();
  EXPECT_TRUE(f.TryGet(kept));
  EXPECT_EQ(f.P().refcount, 2);
  f.End(kept);
  EXPECT_EQ(f.P().refcount, 2) << "PTE unchanged: the caller owns the pin";
  const uint32_t dropped = f.Begin();
  EXPECT_TRUE(f.TryGet(dropped));
  EXPECT_EQ(f.P().refcount, 3);
  f.Unmap();
  f.End(dropped);
  EXPECT_EQ(f.P().refcount, 2) << "PTE changed: the reference is dropped";
}

// call_rcu: the owner's put runs when the last reader that started before it ends; a reader
// that started later does not hold it up.
TEST(LaggingReaderTest, PutPageRcuRunsWhenTheLastEarlierReaderEnds) {
  Fixture f;
  const uint32_t r1 = f.Begin();
  const uint32_t r2 = f.Begin();
  Advance(*f.lab, kMicrosecond);
  f.Unmap();
  f.OwnerPutRcu();
  EXPECT_EQ(f.P().refcount, 1) << "deferred";
  Advance(*f.lab, kMicrosecond);
  const uint32_t late = f.Begin();
  f.End(r1);
  EXPECT_FALSE(InBuddy(f.P()));
  Advance(*f.lab, kSecond);
  EXPECT_FALSE(InBuddy(f.P())) << "time alone does not end a grace period";
  f.End(r2);
  EXPECT_TRUE(InBuddy(f.P())) << "the late reader does not extend GP(u)";
  EXPECT_FALSE(f.TryGet(late)) << "and finds the page freed";
  EXPECT_EQ(f.lab->violation_total(), 0u);
}

TEST(LaggingReaderTest, PutPageRcuWithNoReaderRunsAtOnce) {
  Fixture f;
  f.Unmap();
  f.OwnerPutRcu();
  EXPECT_TRUE(InBuddy(f.P()));
  EXPECT_EQ(f.lab->violation_total(), 0u);
}

TEST(LaggingReaderTest, RejectsUnknownEndedAndDoubleTryGet) {
  Fixture f;
  absl::StatusOr<OpResult> r = f.lab->Apply(Op{{}, op::ReaderTryGet{.reader = 42}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "reader: reader 42 does not exist");
  const uint32_t id = f.Begin();
  EXPECT_TRUE(f.TryGet(id));
  r = f.lab->Apply(Op{{}, op::ReaderTryGet{.reader = id}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("already holds a reference"), absl::string_view::npos);
  f.End(id);
  r = f.lab->Apply(Op{{}, op::ReaderEnd{.reader = id}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("already ended"), absl::string_view::npos);
}

}  // namespace
}  // namespace ppsim::sim
