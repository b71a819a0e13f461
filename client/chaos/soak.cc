// File: client/chaos/soak.cc
#include "client/chaos/soak.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/chaos/exit_codes.h"
#include "client/chaos/lab_target.h"
#include "client/chaos/report.h"

namespace ppsim::chaos {

namespace {

int Rank(Verdict v) {  // worst first: safety, liveness, unknown, pass
  switch (v) {
    case Verdict::kSafety: return 3;
    case Verdict::kLiveness: return 2;
    case Verdict::kUnknown: return 1;
    case Verdict::kPass: return 0;
  }
  return 0;
}

std::string Hex(uint64_t v) { return absl::StrFormat("0x%016x", v); }

}  // namespace

uint64_t RoundSeed(uint64_t seed, int worker, uint64_t round) {
  uint64_t z = seed ^ (uint64_t{static_cast<uint32_t>(worker)} << 40) ^ (round * 0x9e3779b97f4a7c15ULL);
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return (z ^ (z >> 31)) & 0x7fffffffffffffffULL;  // fits every JSON reader as a string, too
}

absl::StatusOr<SoakResult> RunSoak(const SoakOptions& o, SoakProgress* progress) {
  const Scenario& s = o.plan.scenario;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + absl::ToChronoNanoseconds(o.duration);
  SoakResult out;
  out.seed = o.plan.seed;
  out.target = o.client ? o.client->target() : "";
  out.strategies = absl::StrJoin(s.strategies, ",");
  out.workers = o.plan.workers;
  out.round_ops = o.round_ops;
  out.rounds_per_worker.assign(o.plan.workers, 0);
  std::mutex mu;
  absl::Status error;
  auto work = [&](int w) {
    std::unique_ptr<LabTarget> target = o.client ? RemoteTarget(o.client) : EmbeddedTarget();
    for (uint64_t round = 0;; ++round) {
      if (std::chrono::steady_clock::now() >= deadline) return;
      if (o.stop != nullptr && o.stop->load()) return;
      {
        std::lock_guard<std::mutex> l(mu);
        if (!error.ok()) return;
      }
      const uint64_t seed = RoundSeed(o.plan.seed, w, round);
      RunOptions ro{.seed = seed, .chaos_ops = o.round_ops, .sample_inflight = true,
                    .inflight_samples = 16};
      absl::StatusOr<ScenarioResult> r = RunScenario(s, *target, ro);
      std::lock_guard<std::mutex> l(mu);
      if (!r.ok()) {
        if (error.ok()) error = r.status();
        return;
      }
      for (RunResult& run : r->runs) {
        int64_t peak = 0;
        for (const InflightSample& x : run.inflight) peak = std::max(peak, x.pages);
        run.trace.clear();
        run.inflight.clear();
        run.events.clear();
        SoakRound sr{.worker = w, .round = round, .seed = seed, .run = std::move(run)};
        ++out.rounds;
        ++out.rounds_per_worker[w];
        out.ops += sr.run.ops;
        out.rejected_ops += sr.run.rejected_ops;
        for (const ViolationSummary& v : sr.run.violations) out.violations[v.id] += v.count;
        if (Rank(sr.run.verdict) > Rank(out.verdict)) out.verdict = sr.run.verdict;
        if (progress != nullptr) {
          progress->rounds.fetch_add(1);
          progress->ops.fetch_add(sr.run.ops);
          progress->inflight.store(peak);
        }
        if (o.on_round) o.on_round(sr);
        if (sr.run.verdict != Verdict::kPass && out.failed.size() < 1000) {
          out.failed.push_back(std::move(sr));
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < o.plan.workers; ++w) threads.emplace_back(work, w);
  for (std::thread& t : threads) t.join();
  if (!error.ok()) return error;
  out.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.stopped = o.stop != nullptr && o.stop->load();
  return out;
}

int SoakExitCode(const SoakResult& r) {
  switch (r.verdict) {
    case Verdict::kSafety: return kExitSafety;
    case Verdict::kLiveness: return kExitLiveness;
    case Verdict::kUnknown: return kExitUnknown;
    case Verdict::kPass: return kExitPass;
  }
  return kExitPass;
}

std::string RoundCommand(const SoakOptions& o, const SoakRound& r) {
  std::string cmd = absl::StrCat("ppctl chaos --seed ", r.seed, " --ops ", o.round_ops);
  if (!r.run.strategy.empty()) absl::StrAppend(&cmd, " --strategy ", r.run.strategy);
  if (!o.plan.scenario.file.empty()) absl::StrAppend(&cmd, " --scenario ", o.plan.scenario.file);
  if (!o.plan.scenario.profile.empty() && o.plan.scenario.file.empty()) {
    absl::StrAppend(&cmd, " --profile ", o.plan.scenario.profile);
  }
  if (o.client != nullptr) absl::StrAppend(&cmd, " --target ", o.client->target());
  return cmd;
}

std::string SoakJson(const SoakResult& r, const SoakOptions& o) {
  nlohmann::ordered_json j;
  j["schema"] = kSoakSchema;
  j["seed"] = std::to_string(r.seed);
  j["target"] = r.target;
  j["strategies"] = r.strategies;
  j["workers"] = r.workers;
  j["round_ops"] = r.round_ops;
  j["clock"] = "wall";
  j["elapsed_s"] = r.elapsed_s;
  j["stopped"] = r.stopped;
  j["verdict"] = VerdictName(r.verdict);
  j["rounds"] = r.rounds;
  j["ops"] = r.ops;
  j["ops_per_second"] = r.elapsed_s > 0 ? r.ops / r.elapsed_s : 0.0;
  j["rejected_ops"] = r.rejected_ops;
  j["rounds_per_worker"] = r.rounds_per_worker;
  nlohmann::ordered_json v = nlohmann::ordered_json::object();
  for (const auto& [id, n] : r.violations) v[id] = n;
  j["violations"] = v;
  nlohmann::ordered_json failed = nlohmann::ordered_json::array();
  for (const SoakRound& f : r.failed) {
    nlohmann::ordered_json x;
    x["worker"] = f.worker;
    x["round"] = f.round;
    x["seed"] = std::to_string(f.seed);
    x["strategy"] = f.run.strategy;
    x["verdict"] = VerdictName(f.run.verdict);
    x["digest"] = Hex(f.run.digest);
    x["ops"] = f.run.ops;
    nlohmann::ordered_json ids = nlohmann::ordered_json::object();
    for (const ViolationSummary& s : f.run.violations) ids[s.id] = s.count;
    x["violations"] = ids;
    std::vector<std::string> checks;
    for (const CheckResult& c : f.run.checks) {
      if (!c.ok) checks.push_back(absl::StrCat(c.name, ": ", c.message));
    }
    x["failed_checks"] = checks;
    x["rerun"] = RoundCommand(o, f);
    failed.push_back(std::move(x));
  }
  j["failed_rounds"] = failed;
  return j.dump(2) + "\n";
}

std::string SoakJunit(const SoakResult& r, const SoakOptions& o) {
  std::vector<std::vector<const SoakRound*>> by_worker(r.workers);
  for (const SoakRound& f : r.failed) by_worker[f.worker].push_back(&f);
  int failures = 0;
  for (const auto& w : by_worker) failures += !w.empty();
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  absl::StrAppend(&x, absl::StrFormat(
                          "<testsuites>\n  <testsuite name=\"soak\" tests=\"%d\" failures=\"%d\" "
                          "errors=\"0\" time=\"%.3f\">\n",
                          r.workers, failures, r.elapsed_s));
  absl::StrAppend(&x, "    <properties>\n",
                  absl::StrFormat("      <property name=\"seed\" value=\"%d\"/>\n", r.seed),
                  absl::StrFormat("      <property name=\"strategies\" value=\"%s\"/>\n",
                                  XmlEscape(r.strategies)),
                  absl::StrFormat("      <property name=\"round_ops\" value=\"%d\"/>\n", r.round_ops),
                  absl::StrFormat("      <property name=\"target\" value=\"%s\"/>\n",
                                  XmlEscape(r.target.empty() ? "embedded" : r.target)),
                  "    </properties>\n");
  for (int w = 0; w < r.workers; ++w) {
    absl::StrAppend(&x, absl::StrFormat(
                            "    <testcase classname=\"soak\" name=\"worker%d\" time=\"%.3f\">\n",
                            w, r.elapsed_s));
    if (!by_worker[w].empty()) {
      std::vector<std::string> lines;
      for (const SoakRound* f : by_worker[w]) {
        std::vector<std::string> ids;
        for (const ViolationSummary& v : f->run.violations) ids.push_back(v.id);
        lines.push_back(absl::StrCat("round ", f->round, " seed ", f->seed, " ",
                                     VerdictName(f->run.verdict), " [", absl::StrJoin(ids, ","),
                                     "]: ", RoundCommand(o, *f)));
      }
      absl::StrAppend(&x, "      <failure message=\"",
                      XmlEscape(absl::StrCat(by_worker[w].size(), " failing rounds, first: ",
                                             lines.front())),
                      "\">", XmlEscape(absl::StrJoin(lines, "\n")), "</failure>\n");
    }
    absl::StrAppend(&x, absl::StrFormat("      <system-out>%d rounds</system-out>\n",
                                        r.rounds_per_worker[w]),
                    "    </testcase>\n");
  }
  absl::StrAppend(&x, "  </testsuite>\n</testsuites>\n");
  return x;
}

}  // namespace ppsim::chaos
