// File: client/chaos/report_reader.h
// A saved ppsim.report/v1 JSON (report.h) back into the ScenarioResult it was written from, so
// that `ppctl report` re-renders it as HTML, JUnit or a table without re-running anything.
// Fields added within v1 after the first release (costs, inflight, events, ...) are optional;
// the others are required. The trace comes back holding only the op lines of the violations'
// first ops (what the reports show of it); the rest of it is not in a report.
#ifndef PPSIM_CLIENT_CHAOS_REPORT_READER_H_
#define PPSIM_CLIENT_CHAOS_REPORT_READER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/chaos/report.h"
#include "client/chaos/runner.h"

namespace ppsim::chaos {

struct SavedReport {
  ScenarioResult result;
  ReportContext context;
};

// INVALID_ARGUMENT naming `file`, the field path and the value for a document that is not
// JSON, has another schema, or has a field of the wrong type ("r.json: runs[1].digest: expected
// a 0x-prefixed hex string, got 12").
absl::StatusOr<SavedReport> ReportFromJson(absl::string_view text, absl::string_view file = "");
// NOT_FOUND when the file cannot be read.
absl::StatusOr<SavedReport> ReadReportFile(const std::string& path);

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_REPORT_READER_H_
