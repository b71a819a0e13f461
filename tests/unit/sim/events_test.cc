// Tests for server/sim/events.h: the per-page event chains and the bounded event queue.
#include "server/sim/events.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ppsim::sim {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

PageEvent Ev(Pfn pfn, uint64_t aux, PageEventKind kind = PageEventKind::kHandout) {
  PageEvent e;
  e.pfn = pfn;
  e.aux = aux;
  e.kind = kind;
  e.time = static_cast<Nanos>(aux);
  return e;
}

std::vector<uint64_t> Aux(const std::vector<PageEvent>& events) {
  std::vector<uint64_t> out;
  for (const PageEvent& e : events) out.push_back(e.aux);
  return out;
}

TEST(PageEventLogTest, ChainsArePerPageAndNewestFirst) {
  PageEventLog log(64);
  uint64_t a = 0, b = 0;
  EXPECT_EQ(log.Append(a, Ev(1, 10)), 1u);
  EXPECT_EQ(a, 1u);
  log.Append(b, Ev(2, 20));
  log.Append(a, Ev(1, 11));
  log.Append(b, Ev(2, 21));
  EXPECT_EQ(log.Append(a, Ev(1, 12)), 5u);
  EXPECT_EQ(a, 5u);
  EXPECT_EQ(log.size(), 5u);

  EXPECT_THAT(Aux(log.History(a, 16)), ElementsAre(12, 11, 10));
  EXPECT_THAT(Aux(log.History(b, 16)), ElementsAre(21, 20));
  for (const PageEvent& e : log.History(a, 16)) EXPECT_EQ(e.pfn, 1u);
  EXPECT_THAT(log.History(0, 16), IsEmpty());
}

TEST(PageEventLogTest, HistoryIsLimitedToN) {
  PageEventLog log(64);
  uint64_t head = 0;
  for (uint64_t i = 0; i < 20; ++i) log.Append(head, Ev(3, i));
  EXPECT_THAT(Aux(log.History(head, 3)), ElementsAre(19, 18, 17));
  EXPECT_EQ(log.History(head, 16).size(), 16u);
  EXPECT_THAT(log.History(head, 0), IsEmpty());
}

TEST(PageEventLogTest, RingOverwriteEndsChainsCleanly) {
  PageEventLog log(4);
  uint64_t a = 0, b = 0;
  for (uint64_t i = 0; i < 3; ++i) log.Append(a, Ev(1, 10 + i));  // indices 1..3
  for (uint64_t i = 0; i < 3; ++i) log.Append(b, Ev(2, 20 + i));  // 4..6 overwrite 1..2
  // Page 1's chain stops at the oldest event still in the ring; it never walks into the
  // slots page 2 now occupies.
  EXPECT_THAT(Aux(log.History(a, 16)), ElementsAre(12));
  EXPECT_THAT(Aux(log.History(b, 16)), ElementsAre(22, 21, 20));
  // Once its newest event is overwritten, a page has no history at all.
  log.Append(b, Ev(2, 23));
  EXPECT_THAT(log.History(a, 16), IsEmpty());
  EXPECT_THAT(Aux(log.History(b, 16)), ElementsAre(23, 22, 21, 20));
  EXPECT_EQ(log.size(), 7u);
  EXPECT_LE(log.host_bytes(), 4 * sizeof(PageEvent) * 2);
}

TEST(PageEventLogTest, CollectFiltersTheChain) {
  PageEventLog log(64);
  uint64_t head = 0;
  log.Append(head, Ev(1, 1, PageEventKind::kBuddyAlloc));
  log.Append(head, Ev(1, 2, PageEventKind::kFault));
  log.Append(head, Ev(1, 3, PageEventKind::kDmaMap));
  log.Append(head, Ev(1, 4, PageEventKind::kFault));
  auto faults = [](const PageEvent& e) { return e.kind == PageEventKind::kFault; };
  EXPECT_THAT(Aux(log.Collect(head, faults, 16)), ElementsAre(4, 2));
  EXPECT_THAT(Aux(log.Collect(head, faults, 1)), ElementsAre(4));
}

Event Text(const char* t) {
  Event e;
  e.text = t;
  return e;
}

TEST(EventLogTest, AssignsSequenceNumbersAndTakeDrains) {
  EventLog log(8);
  log.Append(Text("a"));
  log.Append(Text("b"));
  std::vector<Event> got = log.Take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].seq, 1u);
  EXPECT_EQ(got[0].text, "a");
  EXPECT_EQ(got[1].seq, 2u);
  EXPECT_EQ(log.size(), 0u);
  EXPECT_THAT(log.Take(), IsEmpty());
  log.Append(Text("c"));
  EXPECT_EQ(log.Take().at(0).seq, 3u);  // never reused
  EXPECT_EQ(log.total(), 3u);
  EXPECT_EQ(log.dropped(), 0u);
}

TEST(EventLogTest, BoundedCapacityDropsTheOldestAndCountsThem) {
  EventLog log(3);
  for (const char* t : {"1", "2", "3", "4", "5"}) log.Append(Text(t));
  EXPECT_EQ(log.size(), 3u);
  EXPECT_EQ(log.dropped(), 2u);
  EXPECT_EQ(log.total(), 5u);
  std::vector<Event> got = log.Take();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].seq, 3u);
  EXPECT_EQ(got[0].text, "3");
  EXPECT_EQ(got[2].seq, 5u);
  EXPECT_EQ(log.next_seq(), 6u);
}

TEST(EventNamesTest, KernelNamesForNotifications) {
  // docs/kernel/page-pool.md §6.1: netlink notification names.
  EXPECT_STREQ(EventKindName(EventKind::kPoolAdd), "page-pool-add-ntf");
  EXPECT_STREQ(EventKindName(EventKind::kPoolDel), "page-pool-del-ntf");
  EXPECT_STREQ(EventKindName(EventKind::kPoolChange), "page-pool-change-ntf");
  EXPECT_STREQ(PageEventKindName(PageEventKind::kPoolHold), "page_pool_state_hold");
  EXPECT_STREQ(PageEventKindName(PageEventKind::kRelease), "page_pool_state_release");
}

}  // namespace
}  // namespace ppsim::sim
