// `ppctl watch`: a lab's events (or every lab's) as lines until Ctrl-C, like `dmesg -w`.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/lib/op_line.h"
#include "client/ppctl/commands.h"
#include "client/ppctl/remote.h"

namespace ppsim::ppctl {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void OnSignal(int) { g_interrupted = 1; }

struct WatchOptions {
  RemoteOptions remote;
  uint64_t lab = 0;
  std::vector<std::string> kinds;
  uint64_t count = 0;
  bool json = false;
};

// "violation", "pool-add", "EVENT_POOL_ADD", "kernel_log", ... (comma lists allowed).
absl::StatusOr<std::vector<v1::EventKind>> ParseKinds(const std::vector<std::string>& args) {
  std::vector<v1::EventKind> kinds;
  for (const std::string& arg : args) {
    for (absl::string_view k : absl::StrSplit(arg, ',', absl::SkipEmpty())) {
      const google::protobuf::EnumValueDescriptor* v =
          client::FindEnumValue(v1::EventKind_descriptor(), k);
      if (v == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("--kind: \"", k,
                         "\" is not one of kernel-log, pool-add, pool-del, pool-change, "
                         "fault, violation, device"));
      }
      kinds.push_back(static_cast<v1::EventKind>(v->number()));
    }
  }
  return kinds;
}

// "pool-add" for EVENT_POOL_ADD.
std::string KindName(v1::EventKind k) {
  absl::string_view name = v1::EventKind_Name(k);
  absl::ConsumePrefix(&name, "EVENT_");
  std::string out = absl::AsciiStrToLower(name);
  for (char& c : out) {
    if (c == '_') c = '-';
  }
  return out;
}

// [    30.000000] lab 1 op 21 violation   crit pool=1 dev=1: PP001 ...
std::string EventLine(const v1::Event& e) {
  std::string out = absl::StrFormat("[%14.6f] lab %d op %d %-11s %-4s", e.time_ns() / 1e9, e.lab(),
                                    e.op_index(), KindName(e.kind()), e.level());
  if (e.pool() != 0) absl::StrAppend(&out, " pool=", e.pool());
  if (e.device() != 0) absl::StrAppend(&out, " dev=", e.device());
  // Multi-line texts (dma-debug's leak report) continue indented, as dmesg prints them.
  absl::StrAppend(&out, ": ", absl::StrReplaceAll(e.text(), {{"\n", "\n                 "}}));
  return out;
}

}  // namespace

Command AddWatchCommand(CLI::App* root) {
  auto o = std::make_shared<WatchOptions>();
  CLI::App* cmd = root->add_subcommand(
      "watch",
      "print events as they happen (violations, pool add/del/change, kernel log lines, "
      "fault activations, device changes) until Ctrl-C");
  AddRemoteOptions(cmd, &o->remote);
  cmd->add_option("--lab", o->lab, "lab id; 0 = every lab")->capture_default_str();
  cmd->add_option("--kind", o->kinds,
                  "event kinds (repeatable or comma-separated): kernel-log, "
                  "pool-add, pool-del, pool-change, fault, violation, "
                  "device; default all");
  cmd->add_option("-n,--count", o->count, "stop after this many events");
  cmd->add_flag("--json", o->json, "one Event per line as proto JSON");
  return {cmd, [o] {
            absl::StatusOr<std::vector<v1::EventKind>> kinds = ParseKinds(o->kinds);
            if (!kinds.ok()) return UsageError("watch", kinds.status().message());
            absl::StatusOr<std::unique_ptr<client::Client>> c = Dial(o->remote);
            if (!c.ok()) return Fail("watch", c.status());
            std::signal(SIGINT, OnSignal);
            std::signal(SIGTERM, OnSignal);
            // With --count, events past the count that arrive before the cancel lands are dropped.
            auto printed = std::make_shared<std::atomic<uint64_t>>(0);
            const uint64_t count = o->count;
            const bool json = o->json;
            absl::StatusOr<std::unique_ptr<client::WatchStream>> w =
                (*c)->Watch(o->lab, *kinds, [json, count, printed](const v1::Event& e) {
                  if (count != 0 && printed->fetch_add(1) >= count) return;
                  std::printf("%s\n",
                              json ? ToJson(e, /*pretty=*/false).c_str() : EventLine(e).c_str());
                  std::fflush(stdout);
                });
            if (!w.ok()) return Fail("watch", w.status());
            while (!(*w)->WaitFor(absl::Milliseconds(100))) {
              if (g_interrupted || (count != 0 && printed->load() >= count)) (*w)->Cancel();
            }
            const absl::Status end = (*w)->Wait();
            return end.ok() ? 0 : Fail("watch", end);
          }};
}

}  // namespace ppsim::ppctl
