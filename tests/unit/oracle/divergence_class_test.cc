// client/oracle/divergence_class.h: first divergences counted by op and field.
#include "client/oracle/divergence_class.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ppsim::oracle {
namespace {

using ::testing::ElementsAre;

Divergence D(int op, std::string line, std::string field, std::string k, std::string m) {
  return {.op = op, .line = std::move(line), .field = std::move(field), .kernel = std::move(k),
          .model = std::move(m)};
}

TEST(DivergenceClassTest, TheOpAndTheFieldWithoutIndicesOrValues) {
  EXPECT_EQ(DivergenceClass(D(33, "page_pool_put_page page=12 allow_direct=false @napi",
                              "pool 3 cache", "61", "60")),
            "page_pool_put_page allow_direct=false @napi: pool cache");
  EXPECT_EQ(DivergenceClass(D(4, "page_pool_alloc_pages pool=1 count=8", "page 5 pp_ref", "0", "1")),
            "page_pool_alloc_pages: page pp_ref");
  EXPECT_EQ(DivergenceClass(D(6, "napi_enable napi=1", "netlink pool 2 napi-id", "napi 1", "none")),
            "napi_enable: netlink pool napi-id");
  EXPECT_EQ(DivergenceClass(D(2, "page_pool_destroy pool=1", "flags warn", "true", "false")),
            "page_pool_destroy: flags warn");
}

TEST(DivergenceClassTest, MostSequencesFirstWithTheFirstExample) {
  DivergenceClasses c;
  c.Add("a", D(1, "page_pool_destroy pool=1", "flags warn", "true", "false"));
  c.Add("b", D(9, "observe", "page 3 dma", "0", "nonzero"));
  c.Add("c", D(2, "observe", "page 7 dma", "0", "nonzero"));
  EXPECT_THAT(c.Lines(),
              ElementsAre("  2  observe: page dma  (e.g. b op 9: kernel 0, model nonzero)",
                          "  1  page_pool_destroy: flags warn  (e.g. a op 1: kernel true, model "
                          "false)"));
}

}  // namespace
}  // namespace ppsim::oracle
