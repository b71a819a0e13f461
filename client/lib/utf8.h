// Every file ppctl reads (scenarios, traces, reports, op lists) must be UTF-8 text: YAML and JSON
// are defined on it, and a stray byte otherwise surfaces far away (nlohmann::json throws
// type_error 316 while dumping a report, long after the file was "loaded").
#ifndef PPSIM_CLIENT_LIB_UTF8_H_
#define PPSIM_CLIENT_LIB_UTF8_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ppsim::client {

// OK, or INVALID_ARGUMENT "FILE:LINE:COLUMN: byte 0xNN is not valid UTF-8 ..." for the first
// byte that does not start or continue a well-formed sequence (RFC 3629: no overlongs, no
// surrogates, nothing past U+10FFFF). Columns count bytes from 1.
absl::Status CheckUtf8(absl::string_view text, absl::string_view file);

}  // namespace ppsim::client

#endif  // PPSIM_CLIENT_LIB_UTF8_H_
