// Printing ops and results as op lines (client/lib/op_line_format.cc): what is printed parses
// back to the same op.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/lib/op_line.h"

namespace ppsim::client {
namespace {

using ::testing::HasSubstr;

TEST(OpLineFormatTest, PrintsSetFieldsAndContext) {
  absl::StatusOr<v1::Op> op = ParseOpLine("page_pool_alloc_pages count=4 pool=1 @softirq:2");
  ASSERT_TRUE(op.ok()) << op.status();
  EXPECT_EQ(FormatOpLine(*op), "page_pool_alloc_pages pool=1 count=4 @softirq:2");
  v1::Op plain;
  plain.mutable_liveness_check();
  EXPECT_EQ(FormatOpLine(plain), "liveness_check");
  EXPECT_EQ(FormatOpLine(v1::Op()), "(no op)");
}

TEST(OpLineFormatTest, RoundTrips) {
  for (const char* line : {
           "add_device name=\"0000:7d:01.0\" iommu_model=\"intel\" strict=1",
           "bind_driver device=1 flags=1 dma_dir=DMA_FROM_DEVICE strategy=\"dma-tracking\" up=true",
           "page_pool_put_page pool=1 page=0x10/2 dma_sync_size=-1 allow_direct=true @softirq:0",
           "page_pool_put_page_bulk pages=0x10/2,0x11/3",
           "skb_build frags=0x10/2,0x11/2+2048:1024,0x12/1:512 head=0x20/1 recycle=false",
           "set_fault site=\"fail_dma_map\" probability=0.1 times=-1 delay_ns=10000000",
           "device_dma device=1 iova=0xfffc0000 len=4096 write=true expect=0x10/2",
           "kfree_skb_concurrent skbs=1,2,3 @workqueue:1",
           "stack_hold skb=3 holder=\"a \\\"quoted\\\" holder\"",
       }) {
    absl::StatusOr<v1::Op> op = ParseOpLine(line);
    ASSERT_TRUE(op.ok()) << line << ": " << op.status();
    EXPECT_EQ(FormatOpLine(*op), line);
    absl::StatusOr<v1::Op> again = ParseOpLine(FormatOpLine(*op));
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->SerializeAsString(), op->SerializeAsString()) << line;
  }
}

TEST(OpLineFormatTest, ResultsInOpLineSyntax) {
  v1::OpResult r;
  EXPECT_EQ(FormatOpResult(r), "");
  auto* p = r.add_pages();
  p->mutable_page()->set_pfn(0x3f);
  p->mutable_page()->set_generation(2);
  p->set_dma_addr(0xfffc0000);
  p = r.add_pages();
  p->mutable_page()->set_pfn(0x40);
  p->mutable_page()->set_generation(2);
  p->set_offset(2048);
  p->set_dma_addr(0xfffbf000);
  r.set_pool(1);
  r.add_skbs(4);
  r.add_skbs(5);
  EXPECT_EQ(FormatOpResult(r),
            "pages=0x3f/2,0x40/2+2048 dma=0xfffc0000,0xfffbf000 pool=1 skbs=4,5");
  v1::OpResult q;
  q.add_pages()->mutable_page()->set_pfn(1);
  EXPECT_EQ(FormatOpResult(q), "pages=0x1/0");  // no dma= when nothing is mapped
}

TEST(OpLineFormatTest, CatalogListsEveryOpWithTypedFields) {
  const std::string catalog = OpCatalog();
  EXPECT_THAT(catalog, HasSubstr("\npage_pool_alloc_pages pool=uint32 count=uint32\n"));
  EXPECT_THAT(catalog, HasSubstr("\nskb_build frags=pfn/gen[+offset][:len],... head=pfn/gen "
                                 "recycle=bool\n"));
  EXPECT_THAT(catalog, HasSubstr("advance_time ns=int64|duration\n"));
  const auto* oneof = v1::Op::descriptor()->FindOneofByName("op");
  EXPECT_EQ(static_cast<int>(std::count(catalog.begin(), catalog.end(), '\n')),
            oneof->field_count());
}

}  // namespace
}  // namespace ppsim::client
