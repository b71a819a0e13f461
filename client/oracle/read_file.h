// The whole of a text file, for the oracle's inputs (`.ops` sequences, observation files).
#ifndef PPSIM_CLIENT_ORACLE_READ_FILE_H_
#define PPSIM_CLIENT_ORACLE_READ_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace ppsim::oracle {

// NOT_FOUND "<path>: cannot be read" when it cannot be opened.
absl::StatusOr<std::string> ReadFileText(const std::string& path);

}  // namespace ppsim::oracle

#endif  // PPSIM_CLIENT_ORACLE_READ_FILE_H_
