// `ppctl replay TRACE`: re-applies a trace's concrete ops (ppsim.trace/v1, client/chaos/trace.h)
// on a fresh lab with the recorded LabConfig and requires the recorded digest (docs/design.md §6):
// the model is deterministic, so the same
// config and ops must give the same digest on any build that did not change the model.
//   embedded (default)     an in-process lab (server/sim through server/convert)
//   --target HOST:PORT     a lab on ppsimd, ops sent in Apply batches
//   --target ... --rpc     the daemon replays it itself (LabService.ReplayTrace)
// Exit: 0 digest reproduced · 4 nondeterminism (another digest or op count, or an op the lab
// now rejects) · 5 target unreachable · 64 unreadable or malformed trace (line and field) ·
// 70 internal error. The seed goes to stderr first.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/chaos/exit_codes.h"
#include "client/chaos/lab_target.h"
#include "client/chaos/trace.h"
#include "client/lib/op_line.h"
#include "client/ppctl/commands.h"
#include "client/ppctl/remote.h"
#include "google/protobuf/util/json_util.h"

namespace ppsim::ppctl {

namespace {

constexpr size_t kBatch = 512;  // ops per Apply (the daemon's limit is far above)

struct ReplayFlags {
  std::string trace;
  std::string target;  // "" = embedded
  client::Client::Options connection;  // TLS and token for --target
  double connect_timeout_s = 5;
  bool rpc = false;
};

int ReplayError(absl::string_view message, int code) {
  std::cerr << "ppctl replay: " << message << "\n";
  return code;
}

int CodeFor(const absl::Status& s) {
  if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) return kExitUnreachable;
  return kExitInternal;
}

int Verdict(const chaos::Trace& t, uint64_t digest, uint64_t ops) {
  if (digest == t.digest && ops == t.ops.size()) {
    std::printf("digest 0x%016lx reproduced (%lu ops)\n", static_cast<unsigned long>(digest),
                static_cast<unsigned long>(ops));
    return 0;
  }
  std::printf("nondeterminism: expected digest 0x%016lx after %lu ops, replay reached 0x%016lx "
              "after %lu ops\n",
              static_cast<unsigned long>(t.digest), static_cast<unsigned long>(t.ops.size()),
              static_cast<unsigned long>(digest), static_cast<unsigned long>(ops));
  return kExitNondeterminism;
}

int Rejected(const chaos::Trace& t, size_t index, const absl::Status& why) {
  std::printf("nondeterminism: op %lu \"%s\" rejected on replay (%s); the recorded run applied "
              "it (%lu ops, digest 0x%016lx)\n",
              static_cast<unsigned long>(index), client::FormatOpLine(t.ops[index].op).c_str(),
              std::string(why.message()).c_str(), static_cast<unsigned long>(t.ops.size()),
              static_cast<unsigned long>(t.digest));
  return kExitNondeterminism;
}

// The ops on a lab of `target`, in batches; the verdict from the lab's facts.
int ReplayOn(chaos::LabTarget& target, const chaos::Trace& t) {
  absl::StatusOr<std::unique_ptr<chaos::LabSession>> lab =
      target.NewLab(absl::StrCat("replay ", t.scenario, " ", t.strategy), t.config);
  if (!lab.ok()) {
    if (absl::IsInvalidArgument(lab.status())) {
      return ReplayError(absl::StrCat("config: ", lab.status().message()), kExitUsage);
    }
    return ReplayError(lab.status().message(), CodeFor(lab.status()));
  }
  std::vector<v1::Op> batch;
  for (size_t start = 0; start < t.ops.size(); start += kBatch) {
    const size_t end = std::min(t.ops.size(), start + kBatch);
    batch.clear();
    for (size_t i = start; i < end; ++i) batch.push_back(t.ops[i].op);
    absl::StatusOr<chaos::BatchApplied> a = (*lab)->ApplyBatch(batch);
    if (!a.ok()) return ReplayError(a.status().message(), CodeFor(a.status()));
    if (a->rejected_index >= 0) return Rejected(t, start + a->rejected_index, a->rejected);
  }
  absl::StatusOr<chaos::LabFacts> facts = (*lab)->Facts();
  if (!facts.ok()) return ReplayError(facts.status().message(), CodeFor(facts.status()));
  return Verdict(t, facts->digest, facts->ops);
}

// LabService.ReplayTrace: the daemon's own replay (its jsonl is one v1.Op per line).
int ReplayRpc(client::Client& c, const chaos::Trace& t) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string jsonl;
  std::string line;
  for (const chaos::TracedOp& op : t.ops) {
    line.clear();
    if (!google::protobuf::util::MessageToJsonString(op.op, &line, options).ok()) {
      return ReplayError("cannot print an op as JSON", kExitInternal);
    }
    absl::StrAppend(&jsonl, line, "\n");
  }
  absl::StatusOr<v1::ReplayTraceResponse> r = c.ReplayTrace(t.config, jsonl, t.digest);
  if (!r.ok()) {
    // The daemon rejects a trace whose op it refuses with INVALID_ARGUMENT naming the op.
    if (absl::IsInvalidArgument(r.status()) || absl::IsFailedPrecondition(r.status())) {
      std::printf("nondeterminism: the daemon refused the replay: %s\n",
                  std::string(r.status().message()).c_str());
      return kExitNondeterminism;
    }
    return ReplayError(r.status().message(), CodeFor(r.status()));
  }
  return Verdict(t, r->digest(), r->ops());
}

int Replay(const ReplayFlags& f) {
  absl::StatusOr<chaos::Trace> t = chaos::ReadTraceFile(f.trace);
  if (!t.ok()) return ReplayError(t.status().message(), kExitUsage);
  std::cerr << "seed " << t->seed << std::endl;
  std::cout << absl::StrFormat("replaying %s (scenario %s, strategy %s, %d ops)%s\n", f.trace,
                               t->scenario.empty() ? "?" : t->scenario,
                               t->strategy.empty() ? "default" : t->strategy, t->ops.size(),
                               f.target.empty() ? " embedded" : " on " + f.target);
  std::cout.flush();
  if (f.target.empty()) {
    if (f.rpc) return ReplayError("--rpc needs --target", kExitUsage);
    std::unique_ptr<chaos::LabTarget> target = chaos::EmbeddedTarget();
    return ReplayOn(*target, *t);
  }
  absl::StatusOr<std::unique_ptr<client::Client>> c =
      client::Client::Connect(f.target, absl::Seconds(f.connect_timeout_s), f.connection);
  if (!c.ok()) return ReplayError(c.status().message(), kExitUnreachable);
  if (f.rpc) return ReplayRpc(**c, *t);
  std::unique_ptr<chaos::LabTarget> target = chaos::RemoteTarget(c->get());
  return ReplayOn(*target, *t);
}

}  // namespace

Command AddReplayCommand(CLI::App* root) {
  auto flags = std::make_shared<ReplayFlags>();
  CLI::App* cmd = root->add_subcommand(
      "replay",
      "Re-apply a trace (ppsim.trace/v1, from `run --trace` or `chaos --trace`) on a fresh lab\n"
      "with its recorded config and compare the final digest.\n" +
          chaos::ExitCodeHelp("replay"));
  cmd->add_option("trace", flags->trace, "Trace file (JSON lines)")->required();
  cmd->add_option("--target", flags->target,
                  "ppsimd HOST:PORT; without it the trace replays in-process");
  AddSecurityOptions(cmd, &flags->connection);
  cmd->add_option("--connect-timeout", flags->connect_timeout_s, "Seconds to wait for --target")
      ->capture_default_str();
  cmd->add_flag("--rpc", flags->rpc,
                "With --target: let the daemon replay it (LabService.ReplayTrace) instead of "
                "applying the ops through a lab");
  return {cmd, [flags] { return Replay(*flags); }};
}

}  // namespace ppsim::ppctl
