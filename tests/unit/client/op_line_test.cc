// Parsing op lines (client/lib/op_line.cc): what `ppctl apply` accepts and the errors it gives.
#include "client/lib/op_line.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ppsim::client {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

v1::Op Parse(absl::string_view line) {
  absl::StatusOr<v1::Op> op = ParseOpLine(line);
  EXPECT_TRUE(op.ok()) << line << ": " << op.status();
  return op.ok() ? *op : v1::Op();
}

std::string Error(absl::string_view line) {
  absl::StatusOr<v1::Op> op = ParseOpLine(line);
  EXPECT_FALSE(op.ok()) << line << " parsed";
  if (op.ok()) return "";
  EXPECT_EQ(op.status().code(), absl::StatusCode::kInvalidArgument) << op.status();
  return std::string(op.status().message());
}

TEST(OpLineTest, OpWithFieldsAndContext) {
  const v1::Op op = Parse("page_pool_alloc_pages pool=1 count=4 @softirq:0");
  ASSERT_TRUE(op.has_page_pool_alloc_pages());
  EXPECT_TRUE(op.page_pool_alloc_pages().has_pool());
  EXPECT_EQ(op.page_pool_alloc_pages().pool(), 1u);
  EXPECT_EQ(op.page_pool_alloc_pages().count(), 4u);
  EXPECT_EQ(op.ctx().kind(), v1::CTX_SOFTIRQ);
  EXPECT_EQ(op.ctx().cpu(), 0u);
}

TEST(OpLineTest, OmittedFieldsStayUnsetForTheModelsDefaults) {
  const v1::Op op = Parse("page_pool_alloc_pages pool=2");
  EXPECT_FALSE(op.page_pool_alloc_pages().has_count());
  EXPECT_EQ(op.ctx().kind(), v1::CTX_PROCESS);
  EXPECT_TRUE(Parse("liveness_check").has_liveness_check());
}

TEST(OpLineTest, Contexts) {
  EXPECT_EQ(Parse("net_rx_action cpu=3 @softirq:3").ctx().cpu(), 3u);
  EXPECT_EQ(Parse("advance_time @workqueue:2").ctx().kind(), v1::CTX_WORKQUEUE);
  EXPECT_EQ(Parse("advance_time @workqueue:2").ctx().cpu(), 2u);
  EXPECT_EQ(Parse("advance_time @softirq").ctx().cpu(), 0u);
  EXPECT_EQ(Parse("advance_time @softirq").ctx().kind(), v1::CTX_SOFTIRQ);
  EXPECT_EQ(Parse("advance_time @CTX_SOFTIRQ:1").ctx().kind(), v1::CTX_SOFTIRQ);
  // The context may stand anywhere after the op name.
  EXPECT_EQ(Parse("page_pool_alloc_pages @softirq:1 pool=1").ctx().cpu(), 1u);
}

TEST(OpLineTest, ContextErrors) {
  EXPECT_EQ(Error("advance_time @irq:0"),
            "token 2 \"@irq:0\": context \"irq\" is not one of process, softirq, workqueue "
            "(@kind[:cpu])");
  EXPECT_THAT(Error("advance_time @softirq:x"), HasSubstr("\"x\" is not a cpu number"));
  EXPECT_THAT(Error("advance_time @softirq:0 @softirq:1"),
              StartsWith("token 3 \"@softirq:1\": the context is set twice"));
}

TEST(OpLineTest, PageHandles) {
  const v1::Op op = Parse("page_pool_put_page pool=1 page=0x10/2 allow_direct=true @softirq:0");
  EXPECT_EQ(op.page_pool_put_page().page().pfn(), 0x10u);
  EXPECT_EQ(op.page_pool_put_page().page().generation(), 2u);
  EXPECT_TRUE(op.page_pool_put_page().allow_direct());
  EXPECT_EQ(Parse("put_page page=17/1").put_page().page().pfn(), 17u);
}

TEST(OpLineTest, RepeatedHandlesByListOrByRepeatingTheKey) {
  const v1::Op a = Parse("page_pool_put_page_bulk pages=0x10/2,0x11/3");
  ASSERT_EQ(a.page_pool_put_page_bulk().pages_size(), 2);
  EXPECT_EQ(a.page_pool_put_page_bulk().pages(1).pfn(), 0x11u);
  EXPECT_EQ(a.page_pool_put_page_bulk().pages(1).generation(), 3u);
  const v1::Op b = Parse("page_pool_put_page_bulk pages=0x10/2 pages=0x11/3");
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
  EXPECT_EQ(Parse("page_pool_put_page_bulk pages=").page_pool_put_page_bulk().pages_size(), 0);
}

TEST(OpLineTest, Frags) {
  const v1::Op op = Parse("skb_build frags=0x10/2,0x11/2+2048:1024,0x12/1+64,0x13/1:512 recycle");
  const v1::SkbBuild& b = op.skb_build();
  ASSERT_EQ(b.frags_size(), 4);
  EXPECT_EQ(b.frags(0).page().pfn(), 0x10u);
  EXPECT_EQ(b.frags(0).offset(), 0u);
  EXPECT_EQ(b.frags(0).len(), 0u);
  EXPECT_EQ(b.frags(1).offset(), 2048u);
  EXPECT_EQ(b.frags(1).len(), 1024u);
  EXPECT_EQ(b.frags(2).offset(), 64u);
  EXPECT_EQ(b.frags(2).len(), 0u);
  EXPECT_EQ(b.frags(3).offset(), 0u);
  EXPECT_EQ(b.frags(3).len(), 512u);
  EXPECT_TRUE(b.recycle());  // a bare bool key means true
  EXPECT_EQ(Parse("skb_build head=0x20/1").skb_build().head().pfn(), 0x20u);
}

TEST(OpLineTest, ScalarKinds) {
  const v1::Op f = Parse(
      "set_fault site=fail_dma_map probability=0.25 interval=3 times=-1 filter_ctx=\"softirq:0\" "
      "delay_ns=10ms");
  EXPECT_EQ(f.set_fault().site(), "fail_dma_map");
  EXPECT_DOUBLE_EQ(f.set_fault().probability(), 0.25);
  EXPECT_EQ(f.set_fault().interval(), 3u);
  EXPECT_EQ(f.set_fault().times(), -1);
  EXPECT_EQ(f.set_fault().filter_ctx(), "softirq:0");
  EXPECT_EQ(f.set_fault().delay_ns(), 10'000'000);
  EXPECT_EQ(Parse("advance_time ns=30s").advance_time().ns(), 30'000'000'000);
  EXPECT_EQ(Parse("advance_time ns=1500").advance_time().ns(), 1500);
  EXPECT_EQ(Parse("device_dma device=1 iova=0xfffc0000 len=4096 write=yes").device_dma().iova(),
            0xfffc0000u);
  EXPECT_EQ(Parse("page_pool_update_nid pool=1 nid=-1").page_pool_update_nid().nid(), -1);
  EXPECT_EQ(Parse("stack_hold skb=3 holder=\"defrag queue\"").stack_hold().holder(),
            "defrag queue");
  EXPECT_EQ(Parse("kfree_skb_concurrent skbs=1,2,3").kfree_skb_concurrent().skbs_size(), 3);
}

TEST(OpLineTest, EnumsByFullOrShortNameOrNumber) {
  EXPECT_EQ(Parse("page_pool_create dma_dir=DMA_FROM_DEVICE").page_pool_create().dma_dir(),
            v1::DMA_FROM_DEVICE);
  EXPECT_EQ(Parse("page_pool_create dma_dir=from_device").page_pool_create().dma_dir(),
            v1::DMA_FROM_DEVICE);
  EXPECT_EQ(Parse("page_pool_create dma_dir=to-device").page_pool_create().dma_dir(),
            v1::DMA_TO_DEVICE);
  EXPECT_EQ(Parse("page_pool_create dma_dir=0").page_pool_create().dma_dir(),
            v1::DMA_BIDIRECTIONAL);
  EXPECT_THAT(Error("page_pool_create dma_dir=sideways"),
              HasSubstr("dma_dir: \"sideways\" is not one of DMA_BIDIRECTIONAL|"));
}

TEST(OpLineTest, MessageFieldsFieldByField) {
  const v1::Op op = Parse("device_dma device=1 expect.pfn=0x10 expect.generation=2");
  EXPECT_EQ(op.device_dma().expect().pfn(), 0x10u);
  EXPECT_EQ(op.device_dma().expect().generation(), 2u);
  EXPECT_THAT(Error("device_dma expect.pfm=1"),
              HasSubstr("device_dma.expect has no field pfm (fields: pfn, generation)"));
}

TEST(OpLineTest, QuotesAndComments) {
  EXPECT_EQ(Parse("add_device name=\"0000:7d:01.0\" # the VF").add_device().name(), "0000:7d:01.0");
  EXPECT_EQ(Parse("add_device name=\"a \\\"b\\\" c\"").add_device().name(), "a \"b\" c");
  EXPECT_EQ(Parse("add_device name=a#b").add_device().name(), "a#b");
  EXPECT_THAT(Error("add_device name=\"open"),
              StartsWith("token 2 \"name=\"open\": the quote is not closed"));
}

TEST(OpLineTest, UnknownFieldNamesTheToken) {
  EXPECT_THAT(Error("page_pool_alloc_pages pool=1 cout=4"),
              StartsWith("token 3 \"cout=4\": page_pool_alloc_pages has no field cout"));
  EXPECT_THAT(Error("page_pool_alloc_pages pool=1 cout=4"), HasSubstr("(fields: pool, count)"));
  EXPECT_THAT(Error("delete_netns x=1"),
              HasSubstr("delete_netns has no field x (it has no fields)"));
}

TEST(OpLineTest, UnknownOpNamesTheTokenAndSuggests) {
  EXPECT_THAT(Error("page_pool_alloc pool=1"),
              StartsWith("token 1 \"page_pool_alloc\": no op named page_pool_alloc (did you mean "
                         "page_pool_alloc_pages?)"));
  EXPECT_THAT(Error("kfree_skbb skb=1"), HasSubstr("(did you mean kfree_skb?)"));
  EXPECT_THAT(Error("frobnicate"), StartsWith("token 1 \"frobnicate\": no op named frobnicate ("));
  EXPECT_THAT(Error("pool=1 count=4"), StartsWith("token 1 \"pool=1\": expected an op name first"));
  EXPECT_THAT(Error("@softirq:0 advance_time"), HasSubstr("expected an op name first"));
  EXPECT_THAT(Error("   "), HasSubstr("empty op line"));
  // "ctx" is a field of Op, not an op.
  EXPECT_THAT(Error("ctx"), HasSubstr("no op named ctx"));
}

TEST(OpLineTest, BadValuesNameFieldAndValue) {
  EXPECT_EQ(Error("page_pool_alloc_pages pool=x"),
            "token 2 \"pool=x\": pool: \"x\" is not a uint32");
  EXPECT_EQ(Error("page_pool_alloc_pages pool=1 count=-4"),
            "token 3 \"count=-4\": count: -4 is out of range for uint32");
  EXPECT_THAT(Error("page_pool_alloc_pages count=4294967296"),
              HasSubstr("out of range for uint32"));
  EXPECT_THAT(Error("page_pool_update_nid nid=2147483648"), HasSubstr("out of range for int32"));
  EXPECT_EQ(Parse("page_pool_update_nid nid=-2147483648").page_pool_update_nid().nid(), INT32_MIN);
  EXPECT_THAT(Error("put_page page=0x10"),
              HasSubstr("page: \"0x10\" is not a page handle (pfn/generation, e.g. 0x10/2)"));
  EXPECT_THAT(Error("put_page page=0x10/"), HasSubstr("is not a page handle"));
  EXPECT_THAT(Error("put_page page=0xg/1"), HasSubstr("is not a page handle"));
  EXPECT_THAT(Error("skb_build frags=0x10/2+x"), HasSubstr("frags: \"0x10/2+x\" is not a frag"));
  EXPECT_THAT(Error("page_pool_put_page_bulk pages=0x10/2,,0x11/2"), HasSubstr("token 2"));
  EXPECT_THAT(Error("device_dma write=maybe"), HasSubstr("write: \"maybe\" is not a bool"));
  EXPECT_THAT(Error("advance_time ns=soon"),
              HasSubstr("ns: \"soon\" is not nanoseconds or a duration (30s, 10ms)"));
  EXPECT_THAT(Error("set_fault probability=most"),
              HasSubstr("probability: \"most\" is not a number"));
  EXPECT_EQ(Error("page_pool_alloc_pages pool"),
            "token 2 \"pool\": pool needs a value (pool=uint32)");
  EXPECT_EQ(Error("page_pool_alloc_pages pool=1 pool=2"), "token 3 \"pool=2\": pool is set twice");
}

TEST(OpLineTest, Words) {
  // As a shell splits `ppctl apply ... page_pool_alloc_pages pool=1 cout=4`: no re-splitting.
  const std::vector<std::string> words = {"stack_hold", "skb=1", "holder=defrag queue"};
  absl::StatusOr<v1::Op> op = ParseOpWords(words);
  ASSERT_TRUE(op.ok()) << op.status();
  EXPECT_EQ(op->stack_hold().holder(), "defrag queue");
  const std::vector<std::string> bad = {"page_pool_alloc_pages", "cout=4"};
  EXPECT_THAT(std::string(ParseOpWords(bad, 5).status().message()),
              StartsWith("token 6 \"cout=4\": page_pool_alloc_pages has no field cout"));
  EXPECT_TRUE(IsOpName("skb_clone"));
  EXPECT_FALSE(IsOpName("skb"));
  EXPECT_FALSE(IsOpName("ctx"));
}

TEST(OpLineTest, ArgsSplitIntoOpsAtOpNames) {
  const std::vector<std::string> args = {
      "add_device", "bind_driver", "device=1",      "flags=1",   "page_pool_alloc_pages",
      "pool=1",     "count=4",     "@softirq:0",    "skb_build", "frags=0x10/2",
      "recycle",    ";",           "liveness_check"};
  absl::StatusOr<std::vector<v1::Op>> ops = ParseOpArgs(args);
  ASSERT_TRUE(ops.ok()) << ops.status();
  ASSERT_EQ(ops->size(), 5u);
  EXPECT_TRUE((*ops)[0].has_add_device());
  EXPECT_EQ((*ops)[1].bind_driver().device(), 1u);
  EXPECT_EQ((*ops)[2].page_pool_alloc_pages().count(), 4u);
  EXPECT_EQ((*ops)[2].ctx().kind(), v1::CTX_SOFTIRQ);
  EXPECT_TRUE((*ops)[3].skb_build().recycle());
  EXPECT_TRUE((*ops)[4].has_liveness_check());
}

TEST(OpLineTest, ArgsCountTokensOverAllArguments) {
  const std::vector<std::string> one = {"page_pool_alloc_pages", "pool=1", "cout=4", "@softirq:0"};
  EXPECT_THAT(std::string(ParseOpArgs(one).status().message()),
              StartsWith("token 3 \"cout=4\": page_pool_alloc_pages has no field cout"));
  const std::vector<std::string> two = {"add_device", "bind_drivr", "device=1"};
  EXPECT_THAT(std::string(ParseOpArgs(two).status().message()),
              StartsWith("token 2 \"bind_drivr\": no op named bind_drivr (did you mean "
                         "bind_driver?)"));
  const std::vector<std::string> lines = {"add_device", "bind_driver device=1\nnetdev_up devic=1"};
  EXPECT_THAT(std::string(ParseOpArgs(lines).status().message()),
              StartsWith("argument 2: line 2: token 2 \"devic=1\": netdev_up has no field devic"));
  const std::vector<std::string> quoted = {"add_device", "bind_driver device=1 flags=1"};
  absl::StatusOr<std::vector<v1::Op>> ops = ParseOpArgs(quoted);
  ASSERT_TRUE(ops.ok()) << ops.status();
  EXPECT_EQ(ops->size(), 2u);
  const std::vector<std::string> json = {"add_device", R"({"advanceTime":{"ns":"5"}})"};
  ops = ParseOpArgs(json);
  ASSERT_TRUE(ops.ok()) << ops.status();
  EXPECT_EQ((*ops)[1].advance_time().ns(), 5);
  EXPECT_TRUE(ParseOpArgs({})->empty());
}

TEST(OpLineTest, JsonLines) {
  const v1::Op op = Parse(
      R"({"ctx": {"kind": "CTX_SOFTIRQ", "cpu": 1}, "pagePoolAllocPages": {"pool": 1, "count": 4}})");
  EXPECT_EQ(op.page_pool_alloc_pages().count(), 4u);
  EXPECT_EQ(op.ctx().cpu(), 1u);
  EXPECT_EQ(Parse(R"({"page_pool_alloc_pages": {"pool": 1}})").page_pool_alloc_pages().pool(), 1u);
  EXPECT_THAT(Error(R"({"pagePoolAllocPages": {"cout": 4}})"), StartsWith("JSON: "));
  EXPECT_THAT(Error(R"({"ctx": {"cpu": 1}})"), HasSubstr("JSON: no op is set"));
}

TEST(OpLineTest, LinesSkipBlanksAndCommentsAndNameTheLine) {
  absl::StatusOr<std::vector<v1::Op>> ops = ParseOpLines(
      "# the seed thread's story\n"
      "add_device name=\"0000:7d:01.0\"\n"
      "\n"
      "bind_driver device=1 flags=1\r\n"
      "   # indented comment\n"
      R"({"advanceTime": {"ns": "1000"}})"
      "\n");
  ASSERT_TRUE(ops.ok()) << ops.status();
  ASSERT_EQ(ops->size(), 3u);
  EXPECT_TRUE((*ops)[1].has_bind_driver());
  EXPECT_EQ((*ops)[2].advance_time().ns(), 1000);
  absl::StatusOr<std::vector<v1::Op>> bad = ParseOpLines("add_device\n\nbind_driver devce=1\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              StartsWith("line 3: token 2 \"devce=1\": bind_driver has no field devce"));
  ASSERT_TRUE(ParseOpLines("").ok());
  EXPECT_TRUE(ParseOpLines("")->empty());
}

}  // namespace
}  // namespace ppsim::client
