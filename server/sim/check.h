// PPSIM_CHECK(cond, msg...): an invariant of ppsim itself, checked in every build.
//
//   PPSIM_CHECK(s.ok(), "surprise_remove of bound device ", id, ": ", s.message());
//   Skb& skb = FindOrDie(m.skbs, id, "skb");   // an id SkbArg already validated
//
// Two kinds of broken rule meet in the model, and they must not be confused:
// - a rule of the kernel (a double put, a use after recycle) is what ppsim exists to find: it
//   is a violation (violation.h), recorded, and the lab goes on as the kernel would;
// - a rule of ppsim's own bookkeeping (an id the API edge validated is missing from its map, a
//   call that cannot fail given the state just checked) is a bug in ppsim. Going on would turn
//   it into a wrong verdict, so it stops the process with file:line and the message, in release
//   builds too (conventions.md: "fail loudly"). Bad input from a client is neither: it is an
//   absl::Status error at the API edge.
// The message arguments are absl::StrCat's and are only evaluated when the check fails.
#ifndef PPSIM_SERVER_SIM_CHECK_H_
#define PPSIM_SERVER_SIM_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ppsim::sim::check_internal {

// Not inlined and cold: the failure path stays out of the hot loops the checks sit in.
[[noreturn]] ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_COLD inline void Fail(
    const char* file, int line, const char* condition, const std::string& message) {
  std::fprintf(stderr, "%s:%d: ppsim invariant broken: %s%s%s\n", file, line, condition,
               message.empty() ? "" : ": ", message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace ppsim::sim::check_internal

#define PPSIM_CHECK(cond, ...)                                                          \
  (ABSL_PREDICT_TRUE(cond) ? static_cast<void>(0)                                     \
                           : ::ppsim::sim::check_internal::Fail(__FILE__, __LINE__, #cond, \
                                                                 ::absl::StrCat(__VA_ARGS__)))

namespace ppsim::sim {

// The value at `key` in `map`, which ppsim's bookkeeping guarantees is there: an id the API
// edge validated, or one the model stored itself. A miss is a ppsim bug and fails as
// PPSIM_CHECK does, at the caller's file:line. `what` names the map's objects ("skb").
template <typename Map>
auto& FindOrDie(Map& map, const typename Map::key_type& key, absl::string_view what,
                const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  auto it = map.find(key);
  if (ABSL_PREDICT_FALSE(it == map.end())) {
    check_internal::Fail(file, line, "FindOrDie", absl::StrCat(what, " ", key, " does not exist"));
  }
  return it->second;
}

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_CHECK_H_
