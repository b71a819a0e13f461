#include "server/store/journal.h"

#include <sqlite3.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"
#include "server/convert/info_convert.h"
#include "server/store/mutex.h"

namespace ppsim::store {

namespace {

constexpr int kSchemaVersion = 2;

constexpr const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS labs("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, owner TEXT NOT NULL,"
    "  config BLOB NOT NULL, created_ms INTEGER NOT NULL, deleted_ms INTEGER)",
    "CREATE TABLE IF NOT EXISTS batches("
    "  lab INTEGER NOT NULL, first_op INTEGER NOT NULL, op_count INTEGER NOT NULL,"
    "  ops BLOB NOT NULL, digest INTEGER NOT NULL, now_ns INTEGER NOT NULL,"
    "  violations INTEGER NOT NULL, committed_ms INTEGER NOT NULL,"
    "  request_id TEXT, rejected BLOB,"
    "  PRIMARY KEY(lab, first_op)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS violations("
    "  lab INTEGER NOT NULL, seq INTEGER NOT NULL, op_index INTEGER NOT NULL,"
    "  code TEXT NOT NULL, name TEXT NOT NULL, severity TEXT NOT NULL, time_ns INTEGER NOT NULL,"
    "  message TEXT NOT NULL, record BLOB NOT NULL, PRIMARY KEY(lab, seq)) WITHOUT ROWID",
};

// Version 1 -> 2: request ids and rejections (issue 21 item 8). Rows written by version 1 have
// neither, which is what NULL says.
constexpr const char* kMigrateFrom1[] = {
    "ALTER TABLE batches ADD COLUMN request_id TEXT",
    "ALTER TABLE batches ADD COLUMN rejected BLOB",
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// SQLite integers are signed 64-bit; ids and digests are stored bit for bit.
int64_t ToSql(uint64_t v) { return static_cast<int64_t>(v); }
uint64_t FromSql(int64_t v) { return static_cast<uint64_t>(v); }

// Resets a statement (and its bindings) however the scope is left.
class StmtScope {
 public:
  explicit StmtScope(sqlite3_stmt* s) : s_(s) {}
  ~StmtScope() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  StmtScope(const StmtScope&) = delete;
  StmtScope& operator=(const StmtScope&) = delete;

 private:
  sqlite3_stmt* s_;
};

void BindBlob(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_blob64(s, i, v.data(), v.size(), SQLITE_STATIC);
}
void BindText(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text64(s, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
}
std::string ColumnBytes(sqlite3_stmt* s, int i) {
  const void* p = sqlite3_column_blob(s, i);
  const int n = sqlite3_column_bytes(s, i);
  return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
}

// A violation the lab counted but did not keep (max_violation_records), as its event said it:
// "PP007 use-after-recycle: message" (Machine::Violate).
void ViolationFromEvent(const sim::Event& ev, v1::Violation* out) {
  const absl::string_view text = ev.text;
  const size_t space = text.find(' ');
  const size_t colon = text.find(": ");
  absl::StatusOr<sim::ViolationId> id = sim::ParseViolationId(text.substr(0, space));
  sim::Violation v;
  if (id.ok()) v.id = *id;
  v.severity =
      ev.level == sim::LogLevel::kCrit ? sim::Severity::kCrash : sim::CatalogOf(v.id).severity;
  v.op_index = ev.op_index;
  v.time = ev.time;
  v.pool = ev.pool;
  v.device = ev.device;
  v.message = std::string(colon == absl::string_view::npos ? text : text.substr(colon + 2));
  convert::ViolationToProto(v, out);
}

}  // namespace

void AppendOpToLog(const v1::Op& op, std::string* log) {
  google::protobuf::io::StringOutputStream raw(log);
  google::protobuf::io::CodedOutputStream out(&raw);
  // ApplyRequest.ops is field 2, length-delimited.
  out.WriteTag(google::protobuf::internal::WireFormatLite::MakeTag(
      v1::ApplyRequest::kOpsFieldNumber,
      google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
  out.WriteVarint32(static_cast<uint32_t>(op.ByteSizeLong()));
  op.SerializeWithCachedSizes(&out);
}

absl::StatusOr<std::unique_ptr<Journal>> Journal::Open(const std::string& path, Sync sync) {
  std::unique_ptr<Journal> j(new Journal());
  j->path_ = path;
  ppsim::MutexLock lock(&j->mu_);  // not shared yet: never waits, held for the analysis
  // FULLMUTEX is not needed: mu_ serialises every use of the connection.
  const int rc =
      sqlite3_open_v2(path.c_str(), &j->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    return absl::UnavailableError(
        absl::StrCat("journal: cannot open \"", path,
                     "\": ", j->db_ != nullptr ? sqlite3_errmsg(j->db_) : sqlite3_errstr(rc)));
  }
  if (absl::Status s = j->Init(sync); !s.ok()) return s;
  return j;
}

absl::Status Journal::Init(Sync sync) {
  // Exclusive before WAL: the WAL index then lives in heap memory and the file lock is held
  // from the first write on (see the header).
  if (absl::Status s = Exec("PRAGMA locking_mode=EXCLUSIVE"); !s.ok()) return s;
  sqlite3_busy_timeout(db_, 200);
  {
    absl::StatusOr<sqlite3_stmt*> wal = Prepare("PRAGMA journal_mode=WAL");
    if (!wal.ok()) {
      return absl::UnavailableError(
          absl::StrCat("journal: \"", path_,
                       "\" is not usable (in use by another ppsimd?): ", wal.status().message()));
    }
    const int rc = sqlite3_step(*wal);
    const std::string mode =
        rc == SQLITE_ROW ? reinterpret_cast<const char*>(sqlite3_column_text(*wal, 0)) : "";
    sqlite3_finalize(*wal);
    if (mode != "wal") {
      return absl::UnavailableError(absl::StrCat(
          "journal: \"", path_, "\" cannot switch to WAL mode (in use by another ppsimd?): ",
          rc == SQLITE_ROW ? mode : sqlite3_errmsg(db_)));
    }
  }
  if (absl::Status s =
          Exec(sync == Sync::kFull ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
      !s.ok()) {
    return s;
  }
  // A checkpoint (WAL pages copied into the database, with fsyncs even at NORMAL) every 10000
  // pages (~40 MiB) instead of SQLite's 1000: at one page or so per small batch, the default
  // checkpointed every ~1000 unary Applies, which doubled their journal cost (issue 7 bench).
  // journal_size_limit trims the WAL file back after a checkpoint.
  if (absl::Status s = Exec("PRAGMA wal_autocheckpoint=10000"); !s.ok()) return s;
  if (absl::Status s = Exec("PRAGMA journal_size_limit=67108864"); !s.ok()) return s;
  // Taking the write lock here, not at the first batch: a second daemon fails at start.
  if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("journal: \"", path_, "\" is in use by another ppsimd: ", s.message()));
  }
  for (const char* sql : kSchema) {
    if (absl::Status s = Exec(sql); !s.ok()) {
      Exec("ROLLBACK").IgnoreError();
      return s;
    }
  }
  int version = 0;
  {
    absl::StatusOr<sqlite3_stmt*> q = Prepare("SELECT max(version) FROM schema_version");
    if (!q.ok()) return q.status();
    if (sqlite3_step(*q) == SQLITE_ROW) version = sqlite3_column_int(*q, 0);
    sqlite3_finalize(*q);
  }
  if (version > kSchemaVersion) {
    Exec("ROLLBACK").IgnoreError();
    return absl::FailedPreconditionError(
        absl::StrCat("journal: \"", path_, "\" has schema version ", version,
                     "; this ppsimd reads up to ", kSchemaVersion));
  }
  if (version == 1) {
    for (const char* sql : kMigrateFrom1) {
      if (absl::Status s = Exec(sql); !s.ok()) {
        Exec("ROLLBACK").IgnoreError();
        return s;
      }
    }
  }
  if (version > 0 && version < kSchemaVersion) {
    if (absl::Status s = Exec(
            absl::StrCat("UPDATE schema_version SET version = ", kSchemaVersion).c_str());
        !s.ok()) {
      Exec("ROLLBACK").IgnoreError();
      return s;
    }
  }
  if (version == 0) {
    if (absl::Status s =
            Exec(absl::StrCat("INSERT INTO schema_version VALUES(", kSchemaVersion, ")").c_str());
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = Exec("COMMIT"); !s.ok()) return s;

  struct {
    sqlite3_stmt** out;
    const char* sql;
  } statements[] = {
      {&begin_, "BEGIN"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
      {&insert_lab_,
       "INSERT INTO labs(id, name, owner, config, created_ms) VALUES(?1, ?2, ?3, ?4, ?5)"},
      {&delete_lab_, "UPDATE labs SET deleted_ms = ?2 WHERE id = ?1 AND deleted_ms IS NULL"},
      {&insert_batch_,
       "INSERT INTO batches(lab, first_op, op_count, ops, digest, now_ns, violations, "
       "committed_ms, request_id, rejected) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
      {&insert_violation_,
       "INSERT INTO violations(lab, seq, op_index, code, name, severity, time_ns, message, "
       "record) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
  };
  for (auto& s : statements) {
    absl::StatusOr<sqlite3_stmt*> p = Prepare(s.sql);
    if (!p.ok()) return p.status();
    *s.out = *p;
  }
  return absl::OkStatus();
}

Journal::~Journal() {
  for (sqlite3_stmt* s :
       {begin_, commit_, rollback_, insert_lab_, delete_lab_, insert_batch_, insert_violation_}) {
    sqlite3_finalize(s);  // a no-op for nullptr
  }
  sqlite3_close(db_);
}

absl::Status Journal::Error(absl::string_view what) const {
  return absl::InternalError(
      absl::StrCat("journal \"", path_, "\": ", what, ": ", sqlite3_errmsg(db_)));
}

absl::Status Journal::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    absl::Status s = absl::UnavailableError(
        absl::StrCat("journal \"", path_, "\": ", sql, ": ", err != nullptr ? err : "?"));
    sqlite3_free(err);
    return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<sqlite3_stmt*> Journal::Prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
    return Error(absl::StrCat("cannot prepare \"", sql, "\""));
  }
  return s;
}

absl::Status Journal::Commit() {
  StmtScope scope(commit_);
  if (sqlite3_step(commit_) != SQLITE_DONE) {
    absl::Status s = Error("commit");
    Rollback();
    return s;
  }
  return absl::OkStatus();
}

void Journal::Rollback() {
  StmtScope scope(rollback_);
  if (sqlite3_get_autocommit(db_) == 0) sqlite3_step(rollback_);
}

absl::Status Journal::RecordLabCreated(uint64_t id, const std::string& name,
                                       const std::string& owner, const v1::LabConfig& config) {
  const std::string blob = config.SerializeAsString();
  ppsim::MutexLock lock(&mu_);
  StmtScope scope(insert_lab_);
  sqlite3_bind_int64(insert_lab_, 1, ToSql(id));
  BindText(insert_lab_, 2, name);
  BindText(insert_lab_, 3, owner);
  BindBlob(insert_lab_, 4, blob);
  sqlite3_bind_int64(insert_lab_, 5, NowMs());
  if (sqlite3_step(insert_lab_) != SQLITE_DONE) {
    return Error(absl::StrCat("cannot record lab ", id));
  }
  return absl::OkStatus();
}

absl::Status Journal::RecordLabDeleted(uint64_t id) {
  ppsim::MutexLock lock(&mu_);
  StmtScope scope(delete_lab_);
  sqlite3_bind_int64(delete_lab_, 1, ToSql(id));
  sqlite3_bind_int64(delete_lab_, 2, NowMs());
  if (sqlite3_step(delete_lab_) != SQLITE_DONE) {
    return Error(absl::StrCat("cannot record the deletion of lab ", id));
  }
  return absl::OkStatus();
}

absl::Status Journal::AppendBatch(const JournalBatch& b) {
  // Serialise the records before taking the lock: other labs' commits need not wait for it.
  const uint64_t raised = b.violations - b.first_violation;
  std::vector<v1::Violation> records(std::max<uint64_t>(raised, b.new_records.size()));
  for (size_t i = 0; i < b.new_records.size(); ++i) {
    convert::ViolationToProto(b.new_records[i], &records[i]);
  }
  // Past the record cap: from the batch's last violation events, in order.
  size_t dropped = records.size() - b.new_records.size();
  size_t at = records.size();
  for (auto ev = b.events.rbegin(); ev != b.events.rend() && dropped > 0; ++ev) {
    if (ev->kind != sim::EventKind::kViolation) continue;
    ViolationFromEvent(*ev, &records[--at]);
    --dropped;
  }
  records.resize(records.size() - dropped);  // events lost to the event log's own bound
  std::vector<std::string> blobs(records.size());
  for (size_t i = 0; i < records.size(); ++i) records[i].SerializeToString(&blobs[i]);
  const std::string rejected = b.rejected ? b.rejected->SerializeAsString() : std::string();
  ppsim::MutexLock lock(&mu_);
  {
    StmtScope scope(begin_);
    if (sqlite3_step(begin_) != SQLITE_DONE) return Error("begin");
  }
  {
    StmtScope scope(insert_batch_);
    sqlite3_bind_int64(insert_batch_, 1, ToSql(b.lab));
    sqlite3_bind_int64(insert_batch_, 2, ToSql(b.first_op));
    sqlite3_bind_int64(insert_batch_, 3, ToSql(b.op_count));
    BindBlob(insert_batch_, 4, b.ops);
    sqlite3_bind_int64(insert_batch_, 5, ToSql(b.digest));
    sqlite3_bind_int64(insert_batch_, 6, b.now_ns);
    sqlite3_bind_int64(insert_batch_, 7, ToSql(b.violations));
    sqlite3_bind_int64(insert_batch_, 8, NowMs());
    if (!b.request_id.empty()) BindText(insert_batch_, 9, b.request_id);  // else NULL
    if (b.rejected) BindBlob(insert_batch_, 10, rejected);
    if (sqlite3_step(insert_batch_) != SQLITE_DONE) {
      absl::Status s = Error(absl::StrCat("cannot append ops ", b.first_op, "..",
                                          b.first_op + b.op_count, " of lab ", b.lab));
      Rollback();
      return s;
    }
  }
  for (size_t i = 0; i < records.size(); ++i) {
    const v1::Violation& v = records[i];
    StmtScope scope(insert_violation_);
    sqlite3_bind_int64(insert_violation_, 1, ToSql(b.lab));
    sqlite3_bind_int64(insert_violation_, 2, ToSql(b.first_violation + i));
    sqlite3_bind_int64(insert_violation_, 3, ToSql(v.op_index()));
    BindText(insert_violation_, 4, v.id());
    BindText(insert_violation_, 5, v.name());
    const std::string severity = v1::Severity_Name(v.severity());
    BindText(insert_violation_, 6, severity);
    sqlite3_bind_int64(insert_violation_, 7, v.time_ns());
    BindText(insert_violation_, 8, v.message());
    BindBlob(insert_violation_, 9, blobs[i]);
    if (sqlite3_step(insert_violation_) != SQLITE_DONE) {
      absl::Status s =
          Error(absl::StrCat("cannot append violation ", b.first_violation + i, " of lab ", b.lab));
      Rollback();
      return s;
    }
  }
  return Commit();
}

absl::StatusOr<std::vector<JournalLab>> Journal::Labs() {
  ppsim::MutexLock lock(&mu_);
  absl::StatusOr<sqlite3_stmt*> q =
      Prepare("SELECT id, name, owner, config, deleted_ms IS NOT NULL FROM labs ORDER BY id");
  if (!q.ok()) return q.status();
  std::vector<JournalLab> out;
  int rc;
  while ((rc = sqlite3_step(*q)) == SQLITE_ROW) {
    JournalLab l;
    l.id = FromSql(sqlite3_column_int64(*q, 0));
    l.name = reinterpret_cast<const char*>(sqlite3_column_text(*q, 1));
    l.owner = reinterpret_cast<const char*>(sqlite3_column_text(*q, 2));
    if (!l.config.ParseFromString(ColumnBytes(*q, 3))) {
      sqlite3_finalize(*q);
      return absl::DataLossError(
          absl::StrCat("journal \"", path_, "\": lab ", l.id, ": config is not a LabConfig"));
    }
    l.deleted = sqlite3_column_int(*q, 4) != 0;
    out.push_back(std::move(l));
  }
  absl::Status s = rc == SQLITE_DONE ? absl::OkStatus() : Error("cannot read labs");
  sqlite3_finalize(*q);
  if (!s.ok()) return s;
  return out;
}

absl::Status Journal::ForEachBatch(uint64_t lab,
                                   const std::function<absl::Status(const JournalBatch&)>& fn) {
  ppsim::MutexLock lock(&mu_);
  absl::StatusOr<sqlite3_stmt*> q = Prepare(
      "SELECT first_op, op_count, ops, digest, now_ns, violations, request_id, rejected "
      "FROM batches WHERE lab = ?1 ORDER BY first_op");
  if (!q.ok()) return q.status();
  sqlite3_bind_int64(*q, 1, ToSql(lab));
  absl::Status s;
  int rc;
  while ((rc = sqlite3_step(*q)) == SQLITE_ROW) {
    JournalBatch b;
    b.lab = lab;
    b.first_op = FromSql(sqlite3_column_int64(*q, 0));
    b.op_count = FromSql(sqlite3_column_int64(*q, 1));
    b.ops = ColumnBytes(*q, 2);
    b.digest = FromSql(sqlite3_column_int64(*q, 3));
    b.now_ns = sqlite3_column_int64(*q, 4);
    b.violations = FromSql(sqlite3_column_int64(*q, 5));
    if (sqlite3_column_type(*q, 6) != SQLITE_NULL) b.request_id = ColumnBytes(*q, 6);
    if (sqlite3_column_type(*q, 7) != SQLITE_NULL &&
        !b.rejected.emplace().ParseFromString(ColumnBytes(*q, 7))) {
      s = absl::DataLossError(absl::StrCat("journal \"", path_, "\": lab ", lab, " batch at op ",
                                           b.first_op, ": rejected is not a Rejection"));
      break;
    }
    s = fn(b);
    if (!s.ok()) break;
  }
  if (s.ok() && rc != SQLITE_DONE) s = Error(absl::StrCat("cannot read the ops of lab ", lab));
  sqlite3_finalize(*q);
  return s;
}

absl::StatusOr<std::vector<v1::Violation>> Journal::Violations(uint64_t lab) {
  ppsim::MutexLock lock(&mu_);
  absl::StatusOr<sqlite3_stmt*> q =
      Prepare("SELECT seq, record FROM violations WHERE lab = ?1 ORDER BY seq");
  if (!q.ok()) return q.status();
  sqlite3_bind_int64(*q, 1, ToSql(lab));
  std::vector<v1::Violation> out;
  int rc;
  while ((rc = sqlite3_step(*q)) == SQLITE_ROW) {
    if (!out.emplace_back().ParseFromString(ColumnBytes(*q, 1))) {
      sqlite3_finalize(*q);
      return absl::DataLossError(absl::StrCat("journal \"", path_, "\": lab ", lab, " violation ",
                                              sqlite3_column_int64(*q, 0),
                                              ": record is not a Violation"));
    }
  }
  absl::Status s = rc == SQLITE_DONE ? absl::OkStatus() : Error("cannot read violations");
  sqlite3_finalize(*q);
  if (!s.ok()) return s;
  return out;
}

}  // namespace ppsim::store
