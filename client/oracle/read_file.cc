#include "client/oracle/read_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace ppsim::oracle {

absl::StatusOr<std::string> ReadFileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot be read"));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace ppsim::oracle
