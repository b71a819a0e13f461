// client/oracle/index_map.h: the sequence's 1-based indices and the model ids behind them.
#include "client/oracle/index_map.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ppsim::oracle {
namespace {

using ::testing::ElementsAre;
using ::testing::StartsWith;

TEST(IndexMapTest, IndicesAreOneBasedInCreationOrder) {
  IndexMap m;
  EXPECT_EQ(m.AddPool({.id = 7}), 1);
  EXPECT_EQ(m.AddPool({.id = 3}), 2);
  EXPECT_EQ(m.Pool(2).value()->id, 3u);
  EXPECT_EQ(m.Pool(1).value()->id, 7u);
  EXPECT_EQ(m.AddDevice(4), 1);
  EXPECT_EQ(m.Device(1).value(), 4u);
}

// The module's ppo_arg_index refuses an index out of 1..n with -ENOENT; so does the map,
// naming the field the op line used.
TEST(IndexMapTest, UnknownIndexIsNotFoundNamingTheField) {
  IndexMap m;
  m.AddPool({.id = 1});
  m.AddPool({.id = 2});
  for (int64_t bad : {0, 3, -1}) {
    absl::StatusOr<PoolEntry*> p = m.Pool(bad);
    ASSERT_TRUE(absl::IsNotFound(p.status())) << bad;
    EXPECT_THAT(std::string(p.status().message()),
                StartsWith(absl::StrCat("pool: ", bad,
                                        " is not one of this sequence's pools (1..2)")));
  }
  EXPECT_THAT(std::string(m.Page(1, "pages").status().message()), StartsWith("pages: 1 "));
  EXPECT_TRUE(absl::IsNotFound(m.Netdev(1).status()));
  EXPECT_TRUE(absl::IsNotFound(m.Napi(1).status()));
  EXPECT_TRUE(absl::IsNotFound(m.Device(1).status()));
}

TEST(IndexMapTest, ReverseLookupsFindTheSequencesObjectsOnly) {
  IndexMap m;
  m.AddNetdev({.device = 1, .ifindex = 5});
  m.AddNetdev({.device = 2, .ifindex = 9});
  m.AddNapi({.id = 8200, .netdev = 2});
  EXPECT_EQ(m.NetdevOfIfindex(9), 2);
  EXPECT_EQ(m.NetdevOfIfindex(1), 0);  // lo is no netdev of the sequence
  EXPECT_EQ(m.NapiOfId(8200), 1);
  EXPECT_EQ(m.NapiOfId(8193), 0);
}

// ppo_pool.c ppo_pool_reachable: a destroyed pool may be read while a page of it is held.
TEST(IndexMapTest, PoolReachableWhileLiveOrWhileOneOfItsPagesIsHeld) {
  IndexMap m;
  const int pool = m.AddPool({.id = 1});
  const int other = m.AddPool({.id = 2});
  const int page = m.AddPage({.handle = {.pfn = 10, .generation = 1}, .pool = pool});
  m.AddPage({.handle = {.pfn = 11, .generation = 1}, .pool = other});
  m.Pool(pool).value()->live = false;
  EXPECT_TRUE(m.Reachable(pool));
  m.Page(page).value()->owned = false;
  EXPECT_FALSE(m.Reachable(pool));
  m.Page(page).value()->extra_refs = 1;  // a get_page reference keeps no pool alive
  EXPECT_FALSE(m.Reachable(pool));
  EXPECT_TRUE(m.Reachable(other));
}

TEST(IndexMapTest, HeldPagesAreThoseWithAPoolOrAGetPageReference) {
  IndexMap m;
  const int a = m.AddPool({.id = 1});
  const int b = m.AddPool({.id = 2});
  m.AddPage({.pool = a});
  m.AddPage({.pool = a, .owned = false});
  m.AddPage({.pool = b});
  m.AddPage({.pool = a, .owned = false, .extra_refs = 2});
  EXPECT_THAT(m.HeldPages(), ElementsAre(1, 3, 4));
  EXPECT_THAT(m.HeldPages(a), ElementsAre(1, 4));
  EXPECT_THAT(m.HeldPages(b), ElementsAre(3));
}

}  // namespace
}  // namespace ppsim::oracle
