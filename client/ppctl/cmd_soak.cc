// `ppctl soak`: chaos rounds on fresh labs until a wall-clock deadline (client/chaos/soak.h),
// with a progress line, JSON and JUnit reports, and the worst round's exit code. SIGINT or
// SIGTERM ends the soak after the rounds in progress; the reports are still written. The
// Kubernetes soak Job (deploy/k8s overlay) runs:
//   ppctl soak --target ppsimd:50051 --seed 42 --duration 10m --workers 4
//              --strategy dma-tracking --report-json /reports/soak.json --junit /reports/soak.xml
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/chaos/exit_codes.h"
#include "client/chaos/soak.h"
#include "client/ppctl/chaos_flags.h"
#include "client/ppctl/commands.h"
#include "client/ppctl/remote.h"
#include "client/ppctl/report_files.h"

namespace ppsim::ppctl {

namespace {


std::atomic<bool> g_stop{false};
extern "C" void OnSignal(int) { g_stop.store(true); }

struct SoakFlags {
  chaos::ChaosCliFlags run;
  std::string duration;
  std::string progress_interval = "10s";
  uint64_t round_ops = 2000;
  std::string report_json;
  std::string junit;
};

int SoakError(absl::string_view message, int code) {
  std::cerr << "ppctl soak: " << message << "\n";
  return code;
}

absl::StatusOr<absl::Duration> WallDuration(const std::string& flag, const std::string& text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": \"", text, "\" is not a positive duration (30s, 10m, 1h)"));
  }
  return d;
}

// Prints the progress every `interval`: one redrawn line on a terminal, else one line each.
class Progress {
 public:
  Progress(const chaos::SoakProgress& p, absl::Duration interval, bool tty)
      : p_(p), interval_(interval), tty_(tty), start_(std::chrono::steady_clock::now()) {}

  void Start() {
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> l(mu_);
      while (!cv_.wait_for(l, absl::ToChronoNanoseconds(interval_), [this] { return done_; })) {
        PrintLocked(false);
      }
    });
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> l(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> l(mu_);
    PrintLocked(true);
  }
  // A line of its own (round seeds), keeping the progress line intact on a terminal.
  void Say(const std::string& line) {
    std::lock_guard<std::mutex> l(mu_);
    std::cerr << (tty_ ? "\r\033[K" : "") << line << "\n";
    if (tty_ && drawn_) PrintLocked(false);
  }
  void Count(const std::string& id, uint64_t n) {
    std::lock_guard<std::mutex> l(mu_);
    violations_[id] += n;
  }

 private:
  void PrintLocked(bool final) {
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const uint64_t ops = p_.ops.load();
    std::vector<std::string> v;
    for (const auto& [id, n] : violations_) v.push_back(absl::StrCat(id, "=", n));
    const std::string line = absl::StrFormat(
        "soak %6.1fs  rounds %d  ops %d  %.0f ops/s  inflight %d  violations %s", s,
        p_.rounds.load(), ops, s > 0 ? ops / s : 0.0, p_.inflight.load(),
        v.empty() ? "none" : absl::StrJoin(v, " "));
    if (tty_) {
      std::cerr << "\r\033[K" << line << (final ? "\n" : "") << std::flush;
      drawn_ = !final;
    } else {
      std::cerr << line << "\n";
    }
  }

  const chaos::SoakProgress& p_;
  absl::Duration interval_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool drawn_ = false;
  std::map<std::string, uint64_t> violations_;
  std::thread thread_;
};

int Run(SoakFlags& f) {
  if (!f.run.seed) f.run.seed = std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32);
  std::cerr << "seed " << *f.run.seed << std::endl;
  if (f.duration.empty()) return SoakError("--duration is required (30s, 10m, 1h)", kExitUsage);
  absl::StatusOr<absl::Duration> duration = WallDuration("--duration", f.duration);
  if (!duration.ok()) return SoakError(duration.status().message(), kExitUsage);
  absl::StatusOr<absl::Duration> interval =
      WallDuration("--progress-interval", f.progress_interval);
  if (!interval.ok()) return SoakError(interval.status().message(), kExitUsage);
  if (f.round_ops == 0) return SoakError("--round-ops: must be at least 1", kExitUsage);
  f.run.ops = f.round_ops;  // rounds are `ppctl chaos --ops round_ops` runs
  absl::StatusOr<chaos::ChaosPlan> plan = chaos::PlanChaos(f.run);
  if (!plan.ok()) return SoakError(plan.status().message(), kExitUsage);
  std::unique_ptr<client::Client> client;
  if (!f.run.target.empty()) {
    absl::StatusOr<std::unique_ptr<client::Client>> c =
        client::Client::Connect(f.run.target, absl::Seconds(f.run.connect_timeout_s),
                                f.run.connection);
    if (!c.ok()) return SoakError(c.status().message(), kExitUnreachable);
    client = *std::move(c);
  }
  chaos::SoakOptions o{.plan = *std::move(plan), .client = client.get(),
                       .duration = *duration, .round_ops = f.round_ops, .stop = &g_stop};
  chaos::SoakProgress progress;
  Progress line(progress, *interval, isatty(STDERR_FILENO) != 0);
  o.on_round = [&](const chaos::SoakRound& r) {
    for (const chaos::ViolationSummary& v : r.run.violations) line.Count(v.id, v.count);
    line.Say(absl::StrFormat("round w%d.%d seed %d: %s (%s)", r.worker, r.round, r.seed,
                             chaos::VerdictName(r.run.verdict), chaos::RoundCommand(o, r)));
  };
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  line.Start();
  absl::StatusOr<chaos::SoakResult> r = chaos::RunSoak(o, &progress);
  line.Stop();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!r.ok()) {
    const absl::Status& s = r.status();
    const int code = absl::IsInvalidArgument(s) ? kExitUsage
                     : (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) ? kExitUnreachable
                                                                               : kExitInternal;
    return SoakError(s.message(), code);
  }
  std::printf("soak %s: %lu rounds, %lu ops in %.1fs (%.0f ops/s), %d workers%s\n",
              chaos::VerdictName(r->verdict), static_cast<unsigned long>(r->rounds),
              static_cast<unsigned long>(r->ops), r->elapsed_s,
              r->elapsed_s > 0 ? r->ops / r->elapsed_s : 0.0, r->workers,
              r->stopped ? " (stopped by a signal)" : "");
  for (const chaos::SoakRound& fr : r->failed) {
    std::printf("  failed: w%d round %lu seed %lu %s: %s\n", fr.worker,
                static_cast<unsigned long>(fr.round), static_cast<unsigned long>(fr.seed),
                chaos::VerdictName(fr.run.verdict), chaos::RoundCommand(o, fr).c_str());
  }
  if (!f.report_json.empty()) {
    if (int rc = WriteTextFile("soak", f.report_json, chaos::SoakJson(*r, o)); rc != 0) return rc;
  }
  if (!f.junit.empty()) {
    if (int rc = WriteTextFile("soak", f.junit, chaos::SoakJunit(*r, o)); rc != 0) return rc;
  }
  const int code = chaos::SoakExitCode(*r);
  if (r->rejected_ops > 0 && code == 0) {
    return SoakError(absl::StrCat(r->rejected_ops, " generated ops were refused: a generator bug"),
                 kExitInternal);
  }
  return code;
}

}  // namespace

Command AddSoakCommand(CLI::App* root) {
  auto flags = std::make_shared<SoakFlags>();
  CLI::App* cmd = root->add_subcommand(
      "soak",
      "Run chaos rounds (fresh lab each, seed derived from --seed, worker and round) on N\n"
      "workers until --duration of wall-clock time has passed. Every round's seed is printed\n"
      "with the `ppctl chaos` command that reruns it. SIGINT/SIGTERM: finish the rounds in\n"
      "progress, write the reports, exit with the verdict.\n" +
          chaos::ExitCodeHelp("soak"));
  chaos::ChaosCliFlags& r = flags->run;
  cmd->add_option("--duration", flags->duration, "Wall-clock length: 30s, 10m, 1h")->required();
  cmd->add_option("--workers", r.workers, "Concurrent clients")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  AddChaosWorkloadFlags(cmd, &r);
  cmd->add_option("--round-ops", flags->round_ops, "Chaos ops per round")->capture_default_str();
  cmd->add_option("--progress-interval", flags->progress_interval,
                  "How often the progress line is printed")
      ->capture_default_str();
  cmd->add_option("--report-json", flags->report_json, "Write the JSON report (ppsim.soak/v1)");
  cmd->add_option("--junit", flags->junit, "Write a JUnit XML report");
  return {cmd, [flags] { return Run(*flags); }};
}

}  // namespace ppsim::ppctl
