// Tests for server/sim/lab_config.h: LabConfig::Validate names the field and the value in every
// error (lab_config.h contract; docs/design.md §3.1).
#include "server/sim/lab_config.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ppsim::sim {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

void ExpectInvalid(const LabConfig& c, const std::string& field, const std::string& value) {
  const absl::Status s = c.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << field << "=" << value;
  EXPECT_THAT(std::string(s.message()), HasSubstr(field)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(value)) << s;
}

TEST(LabConfigTest, DefaultsAreValid) {
  const LabConfig c;
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
  LabConfig big;
  big.ram_bytes = LabConfig::kMaxRamBytes;  // 16 TiB is allowed
  big.numa_nodes = 8;
  big.cpus = LabConfig::kMaxCpus;
  big.profile = "v6.15-ppc64";
  big.default_strategy = "scan";
  EXPECT_TRUE(big.Validate().ok()) << big.Validate();
}

TEST(LabConfigTest, RamBytesZero) {
  LabConfig c;
  c.ram_bytes = 0;
  ExpectInvalid(c, "ram_bytes", "0");
}

TEST(LabConfigTest, RamBytesNotAPageMultiple) {
  LabConfig c;
  c.ram_bytes = (uint64_t{1} << 30) + 100;
  ExpectInvalid(c, "ram_bytes", "1073741924");
}

TEST(LabConfigTest, RamBytesAbove16TiB) {
  LabConfig c;
  c.ram_bytes = LabConfig::kMaxRamBytes + kPageSize;
  ExpectInvalid(c, "ram_bytes", "17592186048512");
}

TEST(LabConfigTest, RamTooSmallForTheNodes) {
  // Each node needs a max-order (1024-page) block.
  LabConfig c;
  c.ram_bytes = 1024 * kPageSize;
  EXPECT_TRUE(c.Validate().ok());
  c.numa_nodes = 2;
  ExpectInvalid(c, "ram_bytes", "4194304");
}

TEST(LabConfigTest, NumaNodesZero) {
  LabConfig c;
  c.numa_nodes = 0;
  ExpectInvalid(c, "numa_nodes", "0");
}

TEST(LabConfigTest, CpusZero) {
  LabConfig c;
  c.cpus = 0;
  ExpectInvalid(c, "cpus", "0");
  c.cpus = LabConfig::kMaxCpus + 1;
  ExpectInvalid(c, "cpus", "257");
}

TEST(LabConfigTest, UnknownProfile) {
  LabConfig c;
  c.profile = "v9.99";
  ExpectInvalid(c, "profile", "v9.99");
}

TEST(LabConfigTest, UnknownDefaultStrategyIsRejected) {
  LabConfig c;
  c.default_strategy = "yolo";
  const absl::Status s = c.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), StartsWith("default_strategy: "));
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"yolo\""));
  EXPECT_THAT(std::string(s.message()), HasSubstr("dma-tracking"));  // lists the known ones
}

TEST(LabConfigTest, PageEventLogCapacityTooSmall) {
  LabConfig c;
  c.page_event_log_capacity = 15;
  ExpectInvalid(c, "page_event_log_capacity", "15");
}

TEST(LabConfigTest, IommuModelNamesRoundTrip) {
  for (IommuModel m : {IommuModel::kIntel, IommuModel::kAmd, IommuModel::kArmSmmu,
                       IommuModel::kPpcDdw, IommuModel::kPassthrough}) {
    IommuModel parsed = IommuModel::kIntel;
    ASSERT_TRUE(ParseIommuModel(IommuModelName(m), &parsed).ok()) << IommuModelName(m);
    EXPECT_EQ(parsed, m);
  }
  IommuModel out = IommuModel::kPpcDdw;
  const absl::Status s = ParseIommuModel("sparc-iommu", &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("iommu_model"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("sparc-iommu"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("arm-smmu"));
  EXPECT_EQ(out, IommuModel::kPpcDdw);  // untouched on error
}

}  // namespace
}  // namespace ppsim::sim
