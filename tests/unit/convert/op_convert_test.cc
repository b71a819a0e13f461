// server/convert/op_convert: every model op has a proto message with the same fields, survives
// sim -> proto -> sim unchanged, keeps the model's defaults for omitted fields, and conversion
// errors name the field.
#include "server/convert/op_convert.h"

#include <type_traits>
#include <utility>
#include <variant>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ppsim::convert {
namespace {

using ::testing::HasSubstr;

// Calls f(T{}) for every op type T in the model's variant.
template <class F, size_t... I>
void ForEachOpType(F&& f, std::index_sequence<I...>) {
  (f(std::variant_alternative_t<I, sim::OpBody>{}), ...);
}
template <class F>
void ForEachOpType(F&& f) {
  ForEachOpType(std::forward<F>(f), std::make_index_sequence<std::variant_size_v<sim::OpBody>>{});
}

// Sets every field to a value other than its default, so a field the conversion drops or
// mixes up changes OpToString.
struct NonDefault {
  template <class T>
  void operator()(absl::string_view, T& v) const {
    if constexpr (std::is_same_v<T, bool>) {
      v = !v;
    } else if constexpr (std::is_same_v<T, std::string>) {
      v = v + "x";
    } else if constexpr (std::is_same_v<T, double>) {
      v = v == 0.25 ? 0.5 : 0.25;
    } else if constexpr (std::is_same_v<T, sim::DmaDir>) {
      v = v == sim::DmaDir::kToDevice ? sim::DmaDir::kBidirectional : sim::DmaDir::kToDevice;
    } else if constexpr (std::is_same_v<T, sim::PageHandle>) {
      v = sim::PageHandle{0x1234, 3};
    } else if constexpr (std::is_same_v<T, std::vector<sim::PageHandle>>) {
      v = {sim::PageHandle{1, 2}, sim::PageHandle{3, 4}};
    } else if constexpr (std::is_same_v<T, std::vector<sim::op::FragArg>>) {
      v = {{sim::PageHandle{5, 1}, 64, 128}, {sim::PageHandle{6, 0}, 0, 4096}};
    } else if constexpr (std::is_same_v<T, std::vector<uint32_t>>) {
      v = {1, 2, 3};
    } else {
      static_assert(std::is_integral_v<T>);
      v = static_cast<T>(v == 7 ? 8 : 7);
    }
  }
};

TEST(OpConvertTest, EveryModelOpHasAMatchingMessage) { EXPECT_EQ(CheckOpSchema(), ""); }

TEST(OpConvertTest, EveryOpRoundTripsWithEveryFieldSet) {
  int ops = 0;
  ForEachOpType([&](auto body) {
    using T = decltype(body);
    T::Fields(body, NonDefault{});
    const sim::Op in{.ctx = {sim::CtxKind::kSoftirq, 3}, .body = body};
    const v1::Op proto = OpToProto(in);
    EXPECT_NE(proto.op_case(), v1::Op::OP_NOT_SET) << T::kName;
    absl::StatusOr<sim::Op> out = OpFromProto(proto);
    ASSERT_TRUE(out.ok()) << T::kName << ": " << out.status();
    EXPECT_EQ(sim::OpToString(*out), sim::OpToString(in));
    ++ops;
  });
  EXPECT_EQ(ops, static_cast<int>(std::variant_size_v<sim::OpBody>));
}

TEST(OpConvertTest, OmittedFieldsKeepTheModelDefaults) {
  ForEachOpType([&](auto body) {
    using T = decltype(body);
    v1::Op proto;  // the op's message present but empty, ctx omitted
    const auto* fd = v1::Op::descriptor()->FindFieldByName(std::string(T::kName));
    ASSERT_NE(fd, nullptr) << T::kName;
    proto.GetReflection()->MutableMessage(&proto, fd);
    absl::StatusOr<sim::Op> out = OpFromProto(proto);
    ASSERT_TRUE(out.ok()) << T::kName << ": " << out.status();
    EXPECT_EQ(sim::OpToString(*out), sim::OpToString(sim::Op{.body = T{}}));
  });
}

TEST(OpConvertTest, SetFaultDefaultsAreTheKernelFaultInjectionDefaults) {
  v1::Op proto;
  proto.mutable_set_fault()->set_site("fail_dma_map");
  absl::StatusOr<sim::Op> out = OpFromProto(proto);
  ASSERT_TRUE(out.ok()) << out.status();
  const auto& f = std::get<sim::op::SetFault>(out->body);
  EXPECT_EQ(f.site, "fail_dma_map");
  EXPECT_EQ(f.probability, 1.0);
  EXPECT_EQ(f.interval, 1u);
  EXPECT_EQ(f.times, -1);
}

TEST(OpConvertTest, ErrorsNameTheField) {
  absl::StatusOr<sim::Op> none = OpFromProto(v1::Op{});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("op: no op is set"));

  v1::Op bad_ctx;
  bad_ctx.mutable_advance_time();
  bad_ctx.mutable_ctx()->set_kind(static_cast<v1::CtxKind>(7));
  EXPECT_THAT(std::string(OpFromProto(bad_ctx).status().message()), HasSubstr("ctx.kind: 7"));

  v1::Op bad_cpu;
  bad_cpu.mutable_advance_time();
  bad_cpu.mutable_ctx()->set_cpu(70000);
  EXPECT_THAT(std::string(OpFromProto(bad_cpu).status().message()), HasSubstr("ctx.cpu: 70000"));

  v1::Op bad_dir;
  bad_dir.mutable_bind_driver()->set_dma_dir(static_cast<v1::DmaDir>(9));
  absl::StatusOr<sim::Op> dir = OpFromProto(bad_dir);
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(dir.status().message()),
              HasSubstr("bind_driver.dma_dir: 9 is not a DmaDir"));
}

}  // namespace
}  // namespace ppsim::convert
