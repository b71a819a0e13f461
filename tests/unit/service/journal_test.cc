// server/store/journal + LabRegistry's journal hooks and recovery (lab_registry_recover.cc): what
// a registry commits (labs, batches, violation records) reads back, a fresh registry on the
// same file rebuilds every live lab to the same digest, violations and op counts, deleted labs
// stay deleted and their ids unused, a journal that diverges is flagged, a journal that fails
// stops the lab, and a second opener is refused.
#include "server/store/journal.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "server/service/lab_registry.h"

namespace ppsim::service {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

google::protobuf::RepeatedPtrField<v1::Op> Ops(std::initializer_list<const char*> texts) {
  google::protobuf::RepeatedPtrField<v1::Op> ops;
  for (const char* t : texts) {
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(t, ops.Add())) << t;
  }
  return ops;
}

v1::ApplyResponse MustApply(LabRegistry& labs, uint64_t lab,
                            const google::protobuf::RepeatedPtrField<v1::Op>& ops) {
  absl::StatusOr<v1::ApplyResponse> r = labs.Apply(lab, ops);
  EXPECT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r.ok() && r->has_rejected()) << r->rejected().message();
  return r.ok() ? *r : v1::ApplyResponse{};
}

// docs/design.md §3.6: a legacy pool unbound with pages handed out leaves their mappings behind
// (PP005 at unbind), and returning one after the device is gone unmaps into a freed domain
// (PP001). Returns the violations the registry reported.
uint64_t RaiseViolations(LabRegistry& labs, uint64_t lab) {
  v1::ApplyResponse r =
      MustApply(labs, lab,
                Ops({"add_device {}", "bind_driver { device: 1 flags: 1 strategy: 'legacy' }",
                     "ctx { kind: CTX_SOFTIRQ } page_pool_alloc_pages { pool: 1 count: 2 }"}));
  EXPECT_EQ(r.results(2).pages_size(), 2);
  const v1::PageHandle page = r.results(2).pages(0).page();
  MustApply(labs, lab, Ops({"unbind_driver { device: 1 }", "remove_device { device: 1 }"}));
  google::protobuf::RepeatedPtrField<v1::Op> put =
      Ops({"ctx { kind: CTX_SOFTIRQ } napi_pp_put_page {}", "advance_time { ns: 2000000000 }"});
  *put[0].mutable_napi_pp_put_page()->mutable_page() = page;
  return MustApply(labs, lab, put).violations();
}

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("ppsim_journal_test.", getpid(), ".",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / store::kJournalFileName).string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<store::Journal> MustOpen() {
    absl::StatusOr<std::unique_ptr<store::Journal>> j = store::Journal::Open(path_);
    EXPECT_TRUE(j.ok()) << j.status();
    return j.ok() ? *std::move(j) : nullptr;
  }

  // Runs SQL on the closed journal file, as damage or a newer ppsim would.
  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << sql << ": " << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }

  // The first column of the first row of a query on the closed journal file.
  int SqlInt(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* q = nullptr;
    int v = -1;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &q, nullptr) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
      v = sqlite3_column_int(q, 0);
    }
    EXPECT_NE(v, -1) << sql << ": " << sqlite3_errmsg(db);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(JournalTest, ASecondOpenerIsRefusedWhileTheFirstHoldsTheFile) {
  std::unique_ptr<store::Journal> first = MustOpen();
  absl::StatusOr<std::unique_ptr<store::Journal>> second = store::Journal::Open(path_);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("in use by another ppsimd"));
  first.reset();
  EXPECT_TRUE(store::Journal::Open(path_).ok()) << "the lock goes with the connection";
}

TEST_F(JournalTest, ANewerSchemaIsRefusedNamingBothVersions) {
  MustOpen().reset();
  Sql("INSERT INTO schema_version VALUES(7)");
  absl::StatusOr<std::unique_ptr<store::Journal>> j = store::Journal::Open(path_);
  EXPECT_EQ(j.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(j.status().message()),
              HasSubstr("has schema version 7; this ppsimd reads up to 2"));
}

TEST_F(JournalTest, WhatTheRegistryCommitsReadsBack) {
  std::unique_ptr<store::Journal> j = MustOpen();
  EventHub hub;
  LabRegistry labs(&hub, j.get());
  absl::StatusOr<std::shared_ptr<LabEntry>> e = labs.Create("mine", sim::LabConfig{}, "alice");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_GE(RaiseViolations(labs, (*e)->id), 2u);
  // A batch rejected at its first op applies nothing and writes no batch.
  absl::StatusOr<v1::ApplyResponse> none =
      labs.Apply((*e)->id, Ops({"unbind_driver { device: 9 }"}));
  ASSERT_TRUE(none.ok() && none->has_rejected());

  absl::StatusOr<std::vector<store::JournalLab>> stored = j->Labs();
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].name, "mine");
  EXPECT_EQ((*stored)[0].owner, "alice");
  EXPECT_FALSE((*stored)[0].deleted);
  EXPECT_EQ((*stored)[0].config.profile(), (*e)->lab->config().profile);

  std::vector<uint64_t> firsts, digests;
  uint64_t ops = 0;
  ASSERT_TRUE(j->ForEachBatch((*e)->id, [&](const store::JournalBatch& b) {
                 v1::ApplyRequest decoded;
                 EXPECT_TRUE(decoded.ParseFromString(b.ops));
                 EXPECT_EQ(static_cast<uint64_t>(decoded.ops_size()), b.op_count);
                 firsts.push_back(b.first_op);
                 digests.push_back(b.digest);
                 ops += b.op_count;
                 return absl::OkStatus();
               }).ok());
  EXPECT_EQ(firsts, (std::vector<uint64_t>{0, 3, 5}));
  EXPECT_EQ(ops, (*e)->lab->trace().size());
  EXPECT_EQ(digests.back(), (*e)->lab->digest());

  absl::StatusOr<std::vector<v1::Violation>> v = j->Violations((*e)->id);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->size(), (*e)->lab->violations().size());
  for (size_t i = 0; i < v->size(); ++i) {
    EXPECT_EQ((*v)[i].id(), (*e)->lab->violations()[i].code());
    EXPECT_EQ((*v)[i].op_index(), (*e)->lab->violations()[i].op_index);
    EXPECT_EQ((*v)[i].message(), (*e)->lab->violations()[i].message);
  }
}

TEST_F(JournalTest, ViolationsPastTheRecordCapAreJournaledFromTheirEvents) {
  std::unique_ptr<store::Journal> j = MustOpen();
  LabRegistry labs(nullptr, j.get());
  absl::StatusOr<std::shared_ptr<LabEntry>> e =
      labs.Create("", sim::LabConfig{.max_violation_records = 1});
  ASSERT_TRUE(e.ok()) << e.status();
  const uint64_t raised = RaiseViolations(labs, (*e)->id);
  ASSERT_GE(raised, 2u);
  ASSERT_EQ((*e)->lab->violations().size(), 1u) << "the lab keeps one record, counts the rest";

  absl::StatusOr<std::vector<v1::Violation>> v = j->Violations((*e)->id);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->size(), raised);
  EXPECT_EQ((*v)[0].message(), (*e)->lab->violations()[0].message);
  EXPECT_FALSE((*v)[0].explanation().empty());
  for (size_t i = 1; i < v->size(); ++i) {
    EXPECT_THAT((*v)[i].id(), ::testing::StartsWith("PP"));
    EXPECT_FALSE((*v)[i].message().empty());
    EXPECT_THAT((*v)[i].message(), ::testing::Not(HasSubstr(": PP"))) << "prefix stripped";
    EXPECT_GE((*v)[i].op_index(), (*v)[i - 1].op_index());
  }
}

TEST_F(JournalTest, AFreshRegistryRebuildsLiveLabsAndNeverReusesIds) {
  uint64_t kept_digest = 0, kept_ops = 0, kept_violations = 0;
  std::map<std::string, uint64_t, std::less<>> kept_counts;
  {
    std::unique_ptr<store::Journal> j = MustOpen();
    EventHub hub;
    LabRegistry labs(&hub, j.get());
    ASSERT_TRUE(labs.Create("kept", sim::LabConfig{.seed = 7}).ok());
    ASSERT_TRUE(labs.Create("gone", sim::LabConfig{}).ok());
    RaiseViolations(labs, 1);
    RaiseViolations(labs, 2);
    // FaultService's path is journaled like a batch of one.
    v1::Op fault;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
        "set_fault { site: 'fail_page_alloc' probability: 0.5 }", &fault));
    ASSERT_TRUE(labs.ApplyOne(1, fault).ok());
    ASSERT_TRUE(labs.Delete(2).ok());
    std::shared_ptr<LabEntry> e = *labs.Get(1);
    kept_digest = e->lab->digest();
    kept_ops = e->lab->trace().size();
    kept_violations = e->lab->violations().size();
    kept_counts = e->ops_by_name;
  }
  std::unique_ptr<store::Journal> j = MustOpen();
  EventHub hub;
  LabRegistry labs(&hub, j.get());
  absl::StatusOr<store::RecoveryReport> r = labs.Recover();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->labs.size(), 1u);
  EXPECT_EQ(r->deleted, 1u);
  EXPECT_EQ(r->mismatched, 0u);
  EXPECT_EQ(r->next_id, 3u);

  absl::StatusOr<std::shared_ptr<LabEntry>> e = labs.Get(1);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ((*e)->name, "kept");
  EXPECT_EQ((*e)->lab->config().seed, 7u);
  EXPECT_EQ((*e)->lab->digest(), kept_digest);
  EXPECT_EQ((*e)->lab->trace().size(), kept_ops);
  EXPECT_EQ((*e)->lab->violations().size(), kept_violations);
  EXPECT_EQ((*e)->ops_by_name, kept_counts);
  EXPECT_THAT((*e)->recovery_problem, IsEmpty());
  EXPECT_EQ(labs.Get(2).status().code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<std::shared_ptr<LabEntry>> next = labs.Create("", sim::LabConfig{});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ((*next)->id, 3u) << "ids continue after the largest ever used, deleted ones too";

  // And the rebuilt lab keeps journaling where it left off.
  MustApply(labs, 1, Ops({"advance_time { ns: 1000 }"}));
  std::vector<uint64_t> firsts;
  ASSERT_TRUE(j->ForEachBatch(1, [&](const store::JournalBatch& b) {
                 firsts.push_back(b.first_op);
                 return absl::OkStatus();
               }).ok());
  EXPECT_EQ(firsts.back(), kept_ops);
}

TEST_F(JournalTest, ADigestThatDiffersIsFlaggedAndTheLabKept) {
  {
    std::unique_ptr<store::Journal> j = MustOpen();
    LabRegistry labs(nullptr, j.get());
    ASSERT_TRUE(labs.Create("", sim::LabConfig{}).ok());
    RaiseViolations(labs, 1);
  }
  Sql("UPDATE batches SET digest = digest + 1 WHERE first_op = 3");
  std::unique_ptr<store::Journal> j = MustOpen();
  LabRegistry labs(nullptr, j.get());
  absl::StatusOr<store::RecoveryReport> r = labs.Recover();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->mismatched, 1u);
  absl::StatusOr<std::shared_ptr<LabEntry>> e = labs.Get(1);
  ASSERT_TRUE(e.ok());
  EXPECT_THAT((*e)->recovery_problem, HasSubstr("digest after op 5 is"));
  EXPECT_EQ((*e)->lab->trace().size(), 7u) << "the log still applies: all of it is replayed";
  EXPECT_EQ(r->labs[0].batches, 3u);
}

TEST_F(JournalTest, AMissingBatchStopsTheReplayThere) {
  {
    std::unique_ptr<store::Journal> j = MustOpen();
    LabRegistry labs(nullptr, j.get());
    ASSERT_TRUE(labs.Create("", sim::LabConfig{}).ok());
    RaiseViolations(labs, 1);
  }
  Sql("DELETE FROM batches WHERE first_op = 3");
  std::unique_ptr<store::Journal> j = MustOpen();
  LabRegistry labs(nullptr, j.get());
  absl::StatusOr<store::RecoveryReport> r = labs.Recover();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->mismatched, 1u);
  absl::StatusOr<std::shared_ptr<LabEntry>> e = labs.Get(1);
  ASSERT_TRUE(e.ok());
  EXPECT_THAT((*e)->recovery_problem,
              HasSubstr("resumes at op 5 but the rebuilt lab has 3 ops (a batch is missing)"));
  EXPECT_EQ((*e)->lab->trace().size(), 3u);
}

TEST_F(JournalTest, AFailedAppendStopsTheLabInsteadOfAcknowledgingLostOps) {
  {
    std::unique_ptr<store::Journal> j = MustOpen();
    LabRegistry labs(nullptr, j.get());
    ASSERT_TRUE(labs.Create("", sim::LabConfig{}).ok());
    MustApply(labs, 1, Ops({"add_device {}"}));
  }
  // A row in the way of the lab's next-but-one batch: its insert will fail (primary key).
  Sql("INSERT INTO batches VALUES(1, 2, 1, x'', 0, 0, 0, 0, NULL, NULL)");
  std::unique_ptr<store::Journal> j = MustOpen();
  LabRegistry labs(nullptr, j.get());
  ASSERT_TRUE(labs.Recover().ok());
  MustApply(labs, 1, Ops({"add_device {}"}));                                        // op 1: fine
  absl::StatusOr<v1::ApplyResponse> failed = labs.Apply(1, Ops({"add_device {}"}));  // op 2
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(failed.status().message()), HasSubstr("cannot append ops 2..3 of lab 1"));
  absl::StatusOr<v1::ApplyResponse> after = labs.Apply(1, Ops({"add_device {}"}));
  EXPECT_EQ(after.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(after.status().message()), HasSubstr("lab 1 lost its journal"));
}

TEST_F(JournalTest, WithoutAJournalTheRegistryWorksAndRecoversNothing) {
  LabRegistry labs(nullptr);
  ASSERT_TRUE(labs.Create("", sim::LabConfig{}).ok());
  EXPECT_GE(RaiseViolations(labs, 1), 2u);
  absl::StatusOr<store::RecoveryReport> r = labs.Recover();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->labs.empty());
  EXPECT_FALSE(std::filesystem::exists(path_));
}

// A diverged lab is visible to clients, not only in the log: LabInfo.recovery_problem (what
// GetLab and ListLabs return) names the batch, the digest replayed and the digest journaled.
TEST_F(JournalTest, ADivergedLabSaysSoInItsLabInfo) {
  {
    std::unique_ptr<store::Journal> j = MustOpen();
    LabRegistry labs(nullptr, j.get());
    ASSERT_TRUE(labs.Create("tampered", sim::LabConfig{}).ok());
    ASSERT_TRUE(labs.Create("intact", sim::LabConfig{}).ok());
    RaiseViolations(labs, 1);
    RaiseViolations(labs, 2);
  }
  Sql("UPDATE batches SET digest = digest + 1 WHERE lab = 1 AND first_op = 3");
  std::unique_ptr<store::Journal> j = MustOpen();
  uint64_t journaled = 0;
  ASSERT_TRUE(j->ForEachBatch(1, [&](const store::JournalBatch& b) {
                 if (b.first_op == 3) journaled = b.digest;
                 return absl::OkStatus();
               }).ok());
  LabRegistry labs(nullptr, j.get());
  ASSERT_TRUE(labs.Recover().ok());
  const v1::LabInfo tampered = LabRegistry::Info(**labs.Get(1));
  EXPECT_THAT(tampered.recovery_problem(),
              HasSubstr(absl::StrFormat("batch at op 3 (2 ops): digest after op 5 is %016x on "
                                        "replay, %016x in the journal",
                                        journaled - 1, journaled)));
  EXPECT_THAT(LabRegistry::Info(**labs.Get(2)).recovery_problem(), IsEmpty());
}

// Request ids are journaled with their batches, and a restarted daemon rebuilds each lab's
// window from them: a client retrying across a restart gets the first outcome, not a second
// apply (issue 21 item 8).
TEST_F(JournalTest, RequestIdsAndTheirOutcomesSurviveAReopen) {
  v1::ApplyResponse first, drained;
  {
    std::unique_ptr<store::Journal> j = MustOpen();
    LabRegistry labs(nullptr, j.get());
    ASSERT_TRUE(labs.Create("", sim::LabConfig{}).ok());
    absl::StatusOr<v1::ApplyResponse> r = labs.Apply(
        1, Ops({"add_device {}", "bind_driver { device: 1 flags: 1 }", "unbind_driver { device: 9 }"}),
        nullptr, "setup");
    ASSERT_TRUE(r.ok()) << r.status();
    first = *r;
    r = labs.Apply(1, Ops({"advance_time { ns: 5 }", "advance_time { ns: 5 }",
                           "advance_time { ns: 5 }"}),
                   [&](const LabEntry&, int i) {
                     if (i == 1) labs.Drain();  // SIGTERM while op 1 is about to run
                     return absl::OkStatus();
                   },
                   "cut");
    ASSERT_TRUE(r.ok()) << r.status();
    drained = *r;
    ASSERT_EQ(drained.applied(), 2u);
  }
  std::unique_ptr<store::Journal> j = MustOpen();
  std::vector<std::string> ids;
  ASSERT_TRUE(j->ForEachBatch(1, [&](const store::JournalBatch& b) {
                 ids.push_back(b.request_id);
                 EXPECT_TRUE(b.rejected.has_value());
                 return absl::OkStatus();
               }).ok());
  EXPECT_EQ(ids, (std::vector<std::string>{"setup", "cut"}));

  LabRegistry labs(nullptr, j.get());
  ASSERT_TRUE(labs.Recover().ok());
  std::shared_ptr<LabEntry> e = *labs.Get(1);
  const uint64_t digest = e->lab->digest();
  absl::StatusOr<v1::ApplyResponse> r =
      labs.Apply(1, Ops({"add_device {}", "bind_driver { device: 1 flags: 1 }"}), nullptr, "setup");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->replayed());
  EXPECT_EQ(r->applied(), 2u);
  EXPECT_EQ(r->digest(), first.digest());
  EXPECT_EQ(r->now_ns(), first.now_ns());
  EXPECT_EQ(r->ops(), first.ops());
  EXPECT_EQ(r->rejected().DebugString(), first.rejected().DebugString());

  r = labs.Apply(1, Ops({"advance_time { ns: 5 }"}), nullptr, "cut");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->replayed());
  EXPECT_EQ(r->applied(), 2u);
  EXPECT_EQ(r->rejected().code(), static_cast<int>(absl::StatusCode::kUnavailable));
  EXPECT_EQ(r->rejected().message(), drained.rejected().message());
  EXPECT_EQ(e->lab->digest(), digest) << "nothing applied twice";
  EXPECT_EQ(e->lab->trace().size(), 4u);
}

// A journal written before request ids (schema version 1: no request_id or rejected column)
// opens, is migrated in place, and its labs rebuild as before; batches from then on keep ids.
TEST_F(JournalTest, AVersion1JournalIsMigratedAndItsLabsRebuild) {
  uint64_t digest = 0;
  {
    std::unique_ptr<store::Journal> j = MustOpen();
    LabRegistry labs(nullptr, j.get());
    ASSERT_TRUE(labs.Create("old", sim::LabConfig{}).ok());
    RaiseViolations(labs, 1);
    digest = (*labs.Get(1))->lab->digest();
  }
  // What version 1 wrote: the same tables without the two columns version 2 added.
  Sql("ALTER TABLE batches DROP COLUMN rejected; ALTER TABLE batches DROP COLUMN request_id; "
      "UPDATE schema_version SET version = 1");
  ASSERT_EQ(SqlInt("SELECT count(*) FROM pragma_table_info('batches')"), 8)
      << "the version 1 layout";
  {
    std::unique_ptr<store::Journal> j = MustOpen();
    ASSERT_NE(j, nullptr);
    LabRegistry labs(nullptr, j.get());
    absl::StatusOr<store::RecoveryReport> r = labs.Recover();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->mismatched, 0u);
    EXPECT_EQ((*labs.Get(1))->lab->digest(), digest);
    ASSERT_TRUE(j->ForEachBatch(1, [&](const store::JournalBatch& b) {
                   EXPECT_EQ(b.request_id, "") << "version 1 rows have no id";
                   EXPECT_FALSE(b.rejected.has_value());
                   return absl::OkStatus();
                 }).ok());
    MustApply(labs, 1, Ops({"advance_time { ns: 1 }"}));
    ASSERT_TRUE(labs.Apply(1, Ops({"advance_time { ns: 1 }"}), nullptr, "after").ok());
  }
  EXPECT_EQ(SqlInt("SELECT max(version) FROM schema_version"), 2);
  EXPECT_EQ(SqlInt("SELECT count(*) FROM batches WHERE request_id = 'after'"), 1);
  std::unique_ptr<store::Journal> j = MustOpen();
  LabRegistry labs(nullptr, j.get());
  ASSERT_TRUE(labs.Recover().ok());
  absl::StatusOr<v1::ApplyResponse> r =
      labs.Apply(1, Ops({"advance_time { ns: 1 }"}), nullptr, "after");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->replayed());
}

}  // namespace
}  // namespace ppsim::service
