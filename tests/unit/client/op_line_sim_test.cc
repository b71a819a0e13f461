// Every op the model prints (sim::OpToString, in logs, `ppctl demo -v` and replay errors)
// parses back as an op line to the same op, through the daemon's proto conversion (server/convert). Walks
// every alternative of sim::OpBody, so a new op is covered without a change here.
#include <gtest/gtest.h>

#include <type_traits>
#include <variant>

#include "client/lib/op_line.h"
#include "server/convert/op_convert.h"
#include "server/sim/ops.h"

namespace ppsim::client {
namespace {

// Sets every field to a value that differs from the defaults.
struct Filler {
  template <class T>
  void operator()(absl::string_view, T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      v = !v;
    } else if constexpr (std::is_same_v<T, std::string>) {
      v = "x1";
    } else if constexpr (std::is_same_v<T, double>) {
      v = 0.25;
    } else if constexpr (std::is_same_v<T, sim::DmaDir>) {
      v = sim::DmaDir::kToDevice;
    } else if constexpr (std::is_same_v<T, sim::PageHandle>) {
      v = {0x10, 2};
    } else if constexpr (std::is_same_v<T, std::vector<sim::PageHandle>>) {
      v = {{0x10, 2}, {0x11, 3}};
    } else if constexpr (std::is_same_v<T, std::vector<sim::op::FragArg>>) {
      v = {{{0x10, 2}, 0, 0}, {{0x11, 2}, 2048, 1024}};
    } else if constexpr (std::is_same_v<T, std::vector<uint32_t>>) {
      v = {1, 2, 3};
    } else if constexpr (std::is_signed_v<T>) {
      v = static_cast<T>(-7);
    } else {
      v = static_cast<T>(7);
    }
  }
};

template <size_t I = 0>
void CheckAll() {
  if constexpr (I < std::variant_size_v<sim::OpBody>) {
    using T = std::variant_alternative_t<I, sim::OpBody>;
    for (bool filled : {false, true}) {
      T body{};
      if (filled) T::Fields(body, Filler{});
      const sim::Op op{.ctx = {sim::CtxKind::kSoftirq, 1}, .body = body};
      const std::string line = sim::OpToString(op);
      absl::StatusOr<v1::Op> parsed = ParseOpLine(line);
      ASSERT_TRUE(parsed.ok()) << line << ": " << parsed.status();
      absl::StatusOr<sim::Op> back = convert::OpFromProto(*parsed);
      ASSERT_TRUE(back.ok()) << line << ": " << back.status();
      EXPECT_EQ(sim::OpToString(*back), line);
      // And the client's own printing of the proto op reads back the same.
      absl::StatusOr<v1::Op> again = ParseOpLine(FormatOpLine(*parsed));
      ASSERT_TRUE(again.ok()) << FormatOpLine(*parsed) << ": " << again.status();
      EXPECT_EQ(again->SerializeAsString(), parsed->SerializeAsString()) << line;
    }
    CheckAll<I + 1>();
  }
}

TEST(OpLineSimTest, EveryModelOpPrintsAsAnOpLine) { CheckAll(); }

}  // namespace
}  // namespace ppsim::client
