// File: client/chaos/exit_codes.h
// ppctl's exit codes (docs/design.md §6), defined once: each code with its name and meaning, which
// codes each command can exit with, and the `Exit:` line of its --help, generated from both
// (ExitCodeHelp). A CI pipeline branches on these numbers, so a help text that omits one or
// a command that returns one its help does not list is a bug: tests/integration/
// ppctl_help_test.cc runs every listed command's --help and checks it lists each of its codes.
//
//   cmd->description(absl::StrCat("Run a scenario ...\n", chaos::ExitCodeHelp("run")));
//
// The single-RPC commands (labs, pools, apply, watch, health) follow grpcurl instead:
// RpcExitCode: kExitRpcBase + the gRPC status code of the failed call (78: UNAVAILABLE).
#ifndef PPSIM_CLIENT_CHAOS_EXIT_CODES_H_
#define PPSIM_CLIENT_CHAOS_EXIT_CODES_H_

#include <iterator>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ppsim::chaos {

inline constexpr int kExitPass = 0;
inline constexpr int kExitSafety = 1;
inline constexpr int kExitUnknown = 2;
inline constexpr int kExitLiveness = 3;
inline constexpr int kExitNondeterminism = 4;
inline constexpr int kExitUnreachable = 5;
inline constexpr int kExitUsage = 64;
inline constexpr int kExitInternal = 70;
// Not a code of its own: the single-RPC commands exit this + the gRPC status code, as
// grpcurl does (RpcExitCode).
inline constexpr int kExitRpcBase = 64;
constexpr int RpcExitCode(absl::StatusCode code) { return kExitRpcBase + static_cast<int>(code); }

struct ExitCodeInfo {
  int code;
  absl::string_view name;     // as the help lists it: "3 liveness violation"
  absl::string_view meaning;  // for a reader of the table
};

inline constexpr ExitCodeInfo kExitCodes[] = {
    {kExitPass, "pass", "every run met its expectations"},
    {kExitSafety, "safety violation",
     "an expectation failed: an `occur` id never raised, or a forbidden id raised"},
    {kExitUnknown, "unknown",
     "a `sometimes` goal was never reached: the run did not explore what it was meant to, so "
     "its pass says nothing"},
    {kExitLiveness, "liveness violation",
     "the liveness phase ended with a pool still holding pages (PP017)"},
    {kExitNondeterminism, "nondeterminism", "a trace did not reproduce its recorded digest"},
    {kExitUnreachable, "target unreachable",
     "--target could not be reached, so the verdict is unknown rather than failed"},
    {kExitUsage, "usage or scenario error",
     "a bad flag, or a scenario, trace or report that does not load"},
    {kExitInternal, "internal error", "ppctl's own failure, e.g. a report it could not write"},
};

// A code as one command's help lists it: `says` is what the code means for that command
// (replay's 0 is "reproduced"); empty, the table's name.
struct ExitUse {
  int code;
  absl::string_view says = {};
};

// The scenario commands: one verdict per run, the worst one wins (runner.h ExitCodeFor).
inline constexpr ExitUse kVerdictExits[] = {
    {kExitPass}, {kExitSafety},      {kExitUnknown},  {kExitLiveness},
    {kExitUnreachable}, {kExitUsage}, {kExitInternal},
};
inline constexpr ExitUse kReplayExits[] = {
    {kExitPass, "reproduced"},
    {kExitNondeterminism, "nondeterminism (digest, op count or a rejected op differs)"},
    {kExitUnreachable},
    {kExitUsage, "unreadable or malformed trace"},
    {kExitInternal},
};
inline constexpr ExitUse kShrinkExits[] = {
    {kExitPass, "shrunk"},
    {kExitUnknown, "the --max-runs budget ran out first"},
    {kExitNondeterminism, "the trace does not replay"},
    {kExitUsage, "usage or the trace never raises the id"},
    {kExitInternal},
};
inline constexpr ExitUse kOracleExits[] = {
    {kExitPass, "agree"},
    {kExitSafety, "a divergence"},
    {kExitUsage, "usage error, missing observation or an op the model cannot express"},
};
inline constexpr ExitUse kReportExits[] = {
    {kExitPass, "rendered"},
    {kExitUsage, "not a readable v1 report"},
    {kExitInternal, "an output could not be written"},
};

struct CommandExits {
  absl::string_view command;  // the ppctl subcommand
  std::span<const ExitUse> codes;
};
inline constexpr CommandExits kCommandExits[] = {
    {"run", kVerdictExits},     {"chaos", kVerdictExits},   {"soak", kVerdictExits},
    {"compare", kVerdictExits}, {"replay", kReplayExits},   {"shrink", kShrinkExits},
    {"oracle", kOracleExits},   {"report", kReportExits},
};

namespace exit_codes_internal {
constexpr const ExitCodeInfo* Find(int code) {
  for (const ExitCodeInfo& c : kExitCodes) {
    if (c.code == code) return &c;
  }
  return nullptr;
}
constexpr bool CodesDistinct() {
  for (size_t i = 0; i < std::size(kExitCodes); ++i) {
    for (size_t j = i + 1; j < std::size(kExitCodes); ++j) {
      if (kExitCodes[i].code == kExitCodes[j].code) return false;
    }
  }
  return true;
}
constexpr bool CommandsUseTableCodes() {
  for (const CommandExits& c : kCommandExits) {
    for (const ExitUse& u : c.codes) {
      if (Find(u.code) == nullptr) return false;
    }
  }
  return true;
}
}  // namespace exit_codes_internal
static_assert(exit_codes_internal::CodesDistinct(), "two exit codes share a number");
static_assert(exit_codes_internal::CommandsUseTableCodes(),
              "a command lists an exit code the table does not define");

// The codes `command` can exit with; empty for a command not in kCommandExits.
inline std::span<const ExitUse> ExitCodesOf(absl::string_view command) {
  for (const CommandExits& c : kCommandExits) {
    if (c.command == command) return c.codes;
  }
  return {};
}

// "Exit: 0 pass, 1 safety violation, ..." for `command`'s --help, wrapped at 90 columns like
// the descriptions it ends.
inline std::string ExitCodeHelp(absl::string_view command) {
  std::string out = "Exit:";
  size_t line_start = 0;
  const std::span<const ExitUse> codes = ExitCodesOf(command);
  for (size_t i = 0; i < codes.size(); ++i) {
    const absl::string_view says =
        codes[i].says.empty() ? exit_codes_internal::Find(codes[i].code)->name : codes[i].says;
    const std::string item =
        absl::StrCat(codes[i].code, " ", says, i + 1 < codes.size() ? "," : ".");
    if (out.size() - line_start + 1 + item.size() > 90) {
      out += "\n";
      line_start = out.size();
    } else {
      out += " ";
    }
    out += item;
  }
  return out;
}

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_EXIT_CODES_H_
