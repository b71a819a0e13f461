// server/service/lab_registry: lab ids and their errors, batches that stop at the first
// rejected op with everything before it applied, and events handed to the hub.
#include "server/service/lab_registry.h"

#include <vector>

#include "absl/strings/str_cat.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/service/recording_sink.h"

namespace ppsim::service {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class LabRegistryTest : public ::testing::Test {
 protected:
  std::shared_ptr<LabEntry> MustCreate(const std::string& name = "") {
    absl::StatusOr<std::shared_ptr<LabEntry>> e = labs_.Create(name, sim::LabConfig{});
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? *e : nullptr;
  }

  EventHub hub_;
  LabRegistry labs_{&hub_};
};

TEST_F(LabRegistryTest, CreateNumbersLabsAndNamesUnnamedOnes) {
  std::shared_ptr<LabEntry> a = MustCreate();
  std::shared_ptr<LabEntry> b = MustCreate("mine");
  EXPECT_EQ(a->id, 1u);
  EXPECT_EQ(a->name, "lab-1");
  EXPECT_EQ(b->id, 2u);
  EXPECT_EQ(b->name, "mine");
  EXPECT_EQ(labs_.List().size(), 2u);
  EXPECT_EQ(LabRegistry::Info(*b).name(), "mine");
}

TEST_F(LabRegistryTest, CreateRejectsABadConfigNamingTheField) {
  absl::StatusOr<std::shared_ptr<LabEntry>> e =
      labs_.Create("", sim::LabConfig{.ram_bytes = 12345});
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(e.status().message()), StartsWith("ram_bytes: 12345"));
  EXPECT_TRUE(labs_.List().empty());
}

TEST_F(LabRegistryTest, UnknownAndDeletedLabs) {
  EXPECT_EQ(labs_.Get(9).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(labs_.Get(9).status().message(), "lab: lab 9 does not exist");
  EXPECT_EQ(labs_.Delete(9).code(), absl::StatusCode::kNotFound);

  std::shared_ptr<LabEntry> e = MustCreate();
  ASSERT_TRUE(labs_.Delete(e->id).ok());
  EXPECT_EQ(labs_.Get(e->id).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(labs_.Get(e->id).status().message(), "lab: lab 1 was deleted");
  EXPECT_EQ(labs_.Delete(e->id).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(labs_.Delete(e->id).message(), "lab: lab 1 was already deleted");
  EXPECT_TRUE(labs_.List().empty());
}

TEST_F(LabRegistryTest, ApplyStopsAtTheFirstRejectedOpKeepingEarlierOnes) {
  std::shared_ptr<LabEntry> e = MustCreate();
  google::protobuf::RepeatedPtrField<v1::Op> ops;
  ops.Add()->mutable_add_device();
  ops.Add()->mutable_bind_driver()->set_device(99);
  ops.Add()->mutable_add_device();

  absl::StatusOr<v1::ApplyResponse> r = labs_.Apply(e->id, ops);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->results_size(), 1);
  EXPECT_EQ(r->results(0).device(), 1u);
  ASSERT_TRUE(r->has_rejected());
  EXPECT_EQ(r->rejected().index(), 1u);
  EXPECT_EQ(r->rejected().code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(r->rejected().message(), "ops[1] bind_driver: device: device 99 does not exist");
  EXPECT_EQ(r->ops(), 1u);
  EXPECT_EQ(e->lab->trace().size(), 1u);
  EXPECT_EQ(r->digest(), e->lab->digest());
  EXPECT_EQ(e->ops_by_name.at("add_device"), 1u);
  EXPECT_FALSE(e->ops_by_name.contains("bind_driver")) << "a rejected op is not counted";
}

// The guard (quotas charged per op, call cancellation) is asked before every op with the
// op's index; its refusal stops the batch there like a rejected op, with what ran applied.
TEST_F(LabRegistryTest, AGuardRefusalStopsTheBatchBeforeThatOp) {
  std::shared_ptr<LabEntry> e = MustCreate();
  google::protobuf::RepeatedPtrField<v1::Op> ops;
  for (int i = 0; i < 4; ++i) ops.Add()->mutable_add_device();
  std::vector<int> asked;
  absl::StatusOr<v1::ApplyResponse> r =
      labs_.Apply(e->id, ops, [&](const LabEntry& lab, int i) -> absl::Status {
        EXPECT_EQ(&lab, e.get());
        asked.push_back(i);
        return i == 2 ? absl::ResourceExhaustedError("quota: enough") : absl::OkStatus();
      });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(asked, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(r->results_size(), 2);
  EXPECT_EQ(r->ops(), 2u);
  EXPECT_EQ(r->rejected().index(), 2u);
  EXPECT_EQ(r->rejected().code(), static_cast<int>(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(r->rejected().message(), "ops[2]: quota: enough");
  EXPECT_EQ(e->lab->trace().size(), 2u);
}

// SIGTERM (daemon.cc): Drain stops every batch before its next op, saying how far it got.
TEST_F(LabRegistryTest, ADrainedRegistryAppliesNothingMoreAndSaysSo) {
  std::shared_ptr<LabEntry> e = MustCreate();
  google::protobuf::RepeatedPtrField<v1::Op> ops;
  for (int i = 0; i < 3; ++i) ops.Add()->mutable_add_device();
  absl::StatusOr<v1::ApplyResponse> r = labs_.Apply(e->id, ops, [&](const LabEntry&, int i) {
    if (i == 1) labs_.Drain();  // the signal arrives while op 1 is about to run
    return absl::OkStatus();
  });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ops(), 2u) << "op 1 had passed the drain check when the drain began";
  EXPECT_EQ(r->rejected().index(), 2u);
  EXPECT_EQ(r->rejected().code(), static_cast<int>(absl::StatusCode::kUnavailable));
  EXPECT_EQ(r->rejected().message(),
            "ops[2]: ppsimd is shutting down; ops[0..2) of this batch were applied, the rest "
            "were not");
  r = labs_.Apply(e->id, ops);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rejected().index(), 0u);
  EXPECT_EQ(e->lab->trace().size(), 2u);
}

TEST_F(LabRegistryTest, AnOpThatDoesNotConvertIsRejectedWithoutAName) {
  std::shared_ptr<LabEntry> e = MustCreate();
  google::protobuf::RepeatedPtrField<v1::Op> ops;
  ops.Add();  // no op set
  absl::StatusOr<v1::ApplyResponse> r = labs_.Apply(e->id, ops);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rejected().code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(r->rejected().message(), "ops[0]: op: no op is set");
}

TEST_F(LabRegistryTest, ApplyToAnUnknownOrDeletedLab) {
  google::protobuf::RepeatedPtrField<v1::Op> ops;
  ops.Add()->mutable_add_device();
  EXPECT_EQ(labs_.Apply(5, ops).status().code(), absl::StatusCode::kNotFound);
  std::shared_ptr<LabEntry> e = MustCreate();
  ASSERT_TRUE(labs_.Delete(e->id).ok());
  absl::StatusOr<v1::ApplyResponse> r = labs_.Apply(e->id, ops);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("lab 1 was deleted"));
}

TEST_F(LabRegistryTest, ApplyHandsTheLabsEventsToTheHub) {
  testing::RecordingSink sink;
  ASSERT_TRUE(hub_.Subscribe(&sink));
  std::shared_ptr<LabEntry> e = MustCreate();
  google::protobuf::RepeatedPtrField<v1::Op> ops;
  ops.Add()->mutable_add_device();
  ops.Add()->mutable_bind_driver()->set_device(1);
  ASSERT_TRUE(labs_.Apply(e->id, ops).ok());
  hub_.Unsubscribe(&sink);

  const std::vector<v1::Event> events = sink.events();
  ASSERT_FALSE(events.empty());
  bool pool_add = false;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].lab(), e->id);
    if (i > 0) {
      EXPECT_GT(events[i].seq(), events[i - 1].seq());
    }
    pool_add |= events[i].kind() == v1::EVENT_POOL_ADD;
  }
  EXPECT_TRUE(pool_add) << "bind_driver creates the RX queue's pool (page-pool-add-ntf)";
}

TEST_F(LabRegistryTest, ApplyOneReturnsTheOpsOwnErrorAndRecordsSuccess) {
  std::shared_ptr<LabEntry> e = MustCreate();
  v1::Op bad;
  bad.mutable_set_fault()->set_site("fail_everything");
  absl::StatusOr<v1::OpResult> r = labs_.ApplyOne(e->id, bad);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()),
              StartsWith("site: unknown fault site \"fail_everything\""));
  EXPECT_TRUE(e->ops_by_name.empty()) << "a rejected op is not counted";
  EXPECT_TRUE(e->lab->trace().empty());

  v1::Op good;
  good.mutable_set_fault()->set_site("fail_dma_map");
  EXPECT_TRUE(labs_.ApplyOne(e->id, good).ok());
  EXPECT_EQ(e->lab->trace().size(), 1u);
  EXPECT_EQ(e->ops_by_name.at("set_fault"), 1u);
}

// Request ids (issue 21 item 8): a batch sent again under the same id, because its answer was
// lost, is not applied again; the answer says so and is the first apply's.
TEST_F(LabRegistryTest, ARetriedRequestIdAppliesOnceAndAnswersTheFirstOutcome) {
  std::shared_ptr<LabEntry> e = MustCreate();
  google::protobuf::RepeatedPtrField<v1::Op> ops;
  ops.Add()->mutable_add_device();
  ops.Add()->mutable_bind_driver()->set_device(1);
  ops.Add()->mutable_bind_driver()->set_device(9);  // rejected: no device 9
  absl::StatusOr<v1::ApplyResponse> first = labs_.Apply(e->id, ops, nullptr, "batch-1");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->replayed());
  EXPECT_EQ(first->applied(), 2u);
  EXPECT_EQ(first->results_size(), 2);

  int guarded = 0;
  absl::StatusOr<v1::ApplyResponse> again = labs_.Apply(
      e->id, ops,
      [&](const LabEntry&, int) {
        ++guarded;
        return absl::OkStatus();
      },
      "batch-1");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed());
  EXPECT_EQ(guarded, 0) << "a replay is not charged: nothing runs";
  EXPECT_EQ(again->applied(), 2u);
  EXPECT_EQ(again->results_size(), 0) << "results are not kept";
  EXPECT_EQ(again->rejected().index(), 2u);
  EXPECT_EQ(again->rejected().message(), first->rejected().message());
  EXPECT_EQ(again->digest(), first->digest());
  EXPECT_EQ(again->ops(), 2u);
  EXPECT_EQ(e->lab->trace().size(), 2u) << "applied once";
  EXPECT_EQ(e->lab->digest(), first->digest());

  // The replay is the first outcome, not the lab's present state.
  google::protobuf::RepeatedPtrField<v1::Op> more;
  more.Add()->mutable_add_device();
  ASSERT_TRUE(labs_.Apply(e->id, more, nullptr, "batch-2").ok());
  again = labs_.Apply(e->id, ops, nullptr, "batch-1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ops(), 2u);
  EXPECT_EQ(again->digest(), first->digest());
  EXPECT_EQ(e->lab->trace().size(), 3u);
}

TEST_F(LabRegistryTest, DifferentRequestIdsAndDifferentLabsApplyEachBatch) {
  std::shared_ptr<LabEntry> a = MustCreate();
  std::shared_ptr<LabEntry> b = MustCreate();
  google::protobuf::RepeatedPtrField<v1::Op> ops;
  ops.Add()->mutable_add_device();
  for (const char* id : {"one", "two", ""}) {
    absl::StatusOr<v1::ApplyResponse> r = labs_.Apply(a->id, ops, nullptr, id);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->replayed()) << id;
  }
  absl::StatusOr<v1::ApplyResponse> r = labs_.Apply(a->id, ops);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->replayed()) << "no id: never a replay";
  EXPECT_EQ(a->lab->trace().size(), 4u);
  r = labs_.Apply(b->id, ops, nullptr, "one");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->replayed()) << "ids are per lab";
  EXPECT_EQ(b->lab->trace().size(), 1u);
}

// Nothing applied, nothing remembered (the journal has no row for it either): a batch stopped
// before its first op, by the shutdown here, runs when retried.
TEST_F(LabRegistryTest, ABatchThatAppliedNothingRunsWhenRetried) {
  std::shared_ptr<LabEntry> e = MustCreate();
  google::protobuf::RepeatedPtrField<v1::Op> ops;
  ops.Add()->mutable_add_device();
  absl::StatusOr<v1::ApplyResponse> r =
      labs_.Apply(e->id, ops, [](const LabEntry&, int) { return absl::UnavailableError("later"); },
                  "r");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->applied(), 0u);
  r = labs_.Apply(e->id, ops, nullptr, "r");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->replayed());
  EXPECT_EQ(r->applied(), 1u);
  EXPECT_EQ(e->lab->trace().size(), 1u);
}

TEST_F(LabRegistryTest, TheWindowKeepsTheLast1024IdsOfALab) {
  std::shared_ptr<LabEntry> e = MustCreate();
  google::protobuf::RepeatedPtrField<v1::Op> ops;
  ops.Add()->mutable_advance_time()->set_ns(1);
  for (size_t i = 0; i <= kRequestWindow; ++i) {
    ASSERT_TRUE(labs_.Apply(e->id, ops, nullptr, absl::StrCat("r", i)).ok());
  }
  EXPECT_EQ(e->lab->trace().size(), kRequestWindow + 1);
  absl::StatusOr<v1::ApplyResponse> r = labs_.Apply(e->id, ops, nullptr, "r1");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->replayed()) << "r1 is the oldest id kept";
  r = labs_.Apply(e->id, ops, nullptr, "r0");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->replayed()) << "r0 was forgotten when r1024 came in";
  EXPECT_EQ(e->lab->trace().size(), kRequestWindow + 2);
}

TEST_F(LabRegistryTest, AnInvalidRequestIdIsRefusedBeforeAnythingRuns) {
  std::shared_ptr<LabEntry> e = MustCreate();
  google::protobuf::RepeatedPtrField<v1::Op> ops;
  ops.Add()->mutable_add_device();
  absl::StatusOr<v1::ApplyResponse> r = labs_.Apply(e->id, ops, nullptr, "tab\there");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "request_id: \"tab\\there\" has a byte that is not printable ASCII at 3");
  EXPECT_TRUE(e->lab->trace().empty());
}

}  // namespace
}  // namespace ppsim::service
