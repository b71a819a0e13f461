#include "server/service/quota.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/sim/memory.h"
#include "spdlog/spdlog.h"
#include "server/store/mutex.h"

namespace ppsim::service {

namespace {

// How stale an RSS sample may be: /proc/self/statm costs a few microseconds, too much for
// every batch of a high-rate stream, and memory does not move far in 50 ms.
constexpr int64_t kRssRefreshNs = 50'000'000;

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

absl::StatusOr<uint64_t> ParseSize(absl::string_view text) {
  absl::string_view s = absl::StripAsciiWhitespace(text);
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end == s.data()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a number (e.g. 1000, 64k, 512MiB, 16GiB)"));
  }
  absl::string_view suffix = s.substr(static_cast<size_t>(end - s.data()));
  struct Unit {
    const char* name;
    uint64_t factor;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},
      {"k", 1000},
      {"M", 1000'000},
      {"G", 1000'000'000},
      {"T", 1000'000'000'000},
      {"Ki", uint64_t{1} << 10},
      {"Mi", uint64_t{1} << 20},
      {"Gi", uint64_t{1} << 30},
      {"Ti", uint64_t{1} << 40},
      {"KiB", uint64_t{1} << 10},
      {"MiB", uint64_t{1} << 20},
      {"GiB", uint64_t{1} << 30},
      {"TiB", uint64_t{1} << 40},
      {"B", 1},
  };
  for (const Unit& u : kUnits) {
    if (suffix != u.name) continue;
    if (n > UINT64_MAX / u.factor) {
      return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is too large"));
    }
    return n * u.factor;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "\"", text, "\": unknown suffix \"", suffix,
      "\" (use k, M, G, T, Ki, Mi, Gi, Ti, KiB..TiB)"));
}

uint64_t ReadResidentBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

WatchSlot::~WatchSlot() {
  if (quota_ != nullptr) quota_->ReleaseWatch(identity_);
}

Quota::Quota(QuotaLimits limits, Clock now, MemoryProbe rss)
    : limits_(limits),
      now_(now ? std::move(now) : Clock(SteadyNowNs)),
      rss_(rss ? std::move(rss) : MemoryProbe(ReadResidentBytes)) {}

absl::Status Quota::CheckMemoryLocked(absl::string_view what) {
  if (limits_.memory_cap_bytes == 0) return absl::OkStatus();
  const int64_t now = now_();
  if (rss_read_ns_ < 0 || now - rss_read_ns_ >= kRssRefreshNs) {
    rss_bytes_ = rss_();
    rss_read_ns_ = now;
  }
  if (rss_bytes_ < limits_.memory_cap_bytes) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "memory: ppsimd's resident memory is ", rss_bytes_, " bytes, at or over --memory-cap ",
      limits_.memory_cap_bytes, " bytes; ", what, " refused until labs are deleted"));
}

absl::Status Quota::CheckRamLocked(uint64_t ram_bytes) const {
  if (limits_.lab_ram_bytes == 0 || ram_bytes <= limits_.lab_ram_bytes) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "quota: config.ram_bytes per lab is at most ", limits_.lab_ram_bytes,
      " (--max-lab-ram); asked for ", ram_bytes));
}

absl::Status Quota::ReserveLab(const Identity& who, uint64_t ram_bytes) {
  ppsim::MutexLock lock(&mu_);
  if (absl::Status s = CheckRamLocked(ram_bytes); !s.ok()) return s;
  uint64_t& n = labs_[who.name];
  if (limits_.labs != 0 && n >= limits_.labs) {
    return absl::ResourceExhaustedError(absl::StrCat("quota: labs per identity is ", limits_.labs,
                                                     " (--max-labs); ", who.Display(), " has ",
                                                     n));
  }
  if (absl::Status s = CheckMemoryLocked("new labs are"); !s.ok()) return s;
  ++n;
  return absl::OkStatus();
}

void Quota::AddLab(const Identity& who, uint64_t lab) {
  ppsim::MutexLock lock(&mu_);
  owner_[lab] = who.name;
}

void Quota::CancelLab(const Identity& who) {
  ppsim::MutexLock lock(&mu_);
  if (auto it = labs_.find(who.name); it != labs_.end() && it->second > 0) --it->second;
}

void Quota::RemoveLab(uint64_t lab) {
  ppsim::MutexLock lock(&mu_);
  auto it = owner_.find(lab);
  if (it == owner_.end()) return;
  if (auto n = labs_.find(it->second); n != labs_.end() && n->second > 0) --n->second;
  owner_.erase(it);
}

uint64_t Quota::AdoptLabs(const LabRegistry& labs) {
  // The list is taken before mu_: holding mu_ while taking the registry's lock would close a
  // cycle with Delete (registry, then hub) and Publish (hub, then a watcher's filter asking
  // this quota who owns a lab), which absl's deadlock detector reports.
  const std::vector<std::shared_ptr<LabEntry>> entries = labs.List();
  ppsim::MutexLock lock(&mu_);
  for (const std::shared_ptr<LabEntry>& e : entries) {
    // id and owner are fixed at creation: no need for e->mu.
    if (!owner_.try_emplace(e->id, e->owner).second) continue;  // already counted
    ++labs_[e->owner];
  }
  uint64_t over = 0;
  if (limits_.labs == 0) return over;
  for (const auto& [identity, n] : labs_) {
    if (n <= limits_.labs) continue;
    ++over;
    spdlog::warn("quota: {} has {} labs from the journal, over --max-labs {}; its CreateLab is "
                 "refused until it deletes {}",
                 Identity{identity}.Display(), n, limits_.labs, n - limits_.labs + 1);
  }
  return over;
}

absl::Status Quota::CheckScratchLab(uint64_t ram_bytes) {
  ppsim::MutexLock lock(&mu_);
  if (absl::Status s = CheckRamLocked(ram_bytes); !s.ok()) return s;
  return CheckMemoryLocked("replays are");
}

absl::Status Quota::AdmitBatch(const Identity& who, const LabEntry& e, size_t ops) {
  if (limits_.batch_ops != 0 && ops > limits_.batch_ops) {
    return absl::ResourceExhaustedError(absl::StrCat("quota: ops per batch is ", limits_.batch_ops,
                                                     " (--max-batch-ops); the batch has ", ops,
                                                     " ops"));
  }
  if (limits_.lab_frames != 0) {
    ppsim::MutexLock lock(&e.mu);
    if (absl::Status s = CheckFramesHeld(e); !s.ok()) return s;
  }
  ppsim::MutexLock lock(&mu_);
  if (absl::Status s = CheckMemoryLocked("ops are"); !s.ok()) return s;
  if (limits_.ops_per_second == 0) return absl::OkStatus();
  // Token bucket: one second of burst; a batch bigger than that may run from a full bucket
  // and leaves it in debt, so the long-run rate still holds.
  const double rate = static_cast<double>(limits_.ops_per_second);
  const int64_t now = now_();
  auto [it, fresh] = buckets_.try_emplace(who.name, Bucket{rate, now});
  Bucket& b = it->second;
  b.tokens = std::min(rate, b.tokens + static_cast<double>(now - b.last_ns) * rate / 1e9);
  b.last_ns = now;
  const double need = std::min(rate, static_cast<double>(ops));
  if (b.tokens < need) {
    const int64_t wait_ms = static_cast<int64_t>((need - b.tokens) / rate * 1000.0) + 1;
    return absl::ResourceExhaustedError(absl::StrCat(
        "quota: ops per second per identity is ", limits_.ops_per_second,
        " (--max-ops-per-second); ", who.Display(), " must wait ", wait_ms, " ms for a batch of ",
        ops, " ops"));
  }
  b.tokens -= static_cast<double>(ops);
  return absl::OkStatus();
}

absl::Status Quota::CheckFramesHeld(const LabEntry& e) const {
  return CheckFrames(*e.lab, absl::StrCat("lab ", e.id),
                     "takes no more ops (read, export or delete it)");
}

absl::Status Quota::CheckFrames(const sim::Lab& lab, absl::string_view who,
                                absl::string_view then) const {
  if (limits_.lab_frames == 0) return absl::OkStatus();
  const sim::MemoryStats m = lab.memory_stats();
  const uint64_t frames =
      std::min(m.materialised_sections * sim::Memory::kSectionPages, m.num_pages);
  if (frames <= limits_.lab_frames) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat("quota: materialised frames per lab is ",
                                                   limits_.lab_frames, " (--max-lab-frames); ",
                                                   who, " has ", frames, " and ", then));
}

absl::Status Quota::ChargeScratchOp(const sim::Lab& lab) {
  if (absl::Status s = CheckFrames(lab, "the replay's lab", "the replay stops"); !s.ok()) {
    return s;
  }
  if (limits_.memory_cap_bytes == 0) return absl::OkStatus();
  ppsim::MutexLock lock(&mu_);
  return CheckMemoryLocked("replays are");
}

absl::Status Quota::ChargeOp(const LabEntry& e) {
  if (absl::Status s = CheckFramesHeld(e); !s.ok()) return s;
  if (limits_.memory_cap_bytes == 0) return absl::OkStatus();
  ppsim::MutexLock lock(&mu_);
  return CheckMemoryLocked("ops are");
}

absl::StatusOr<WatchSlot> Quota::AdmitWatch(const Identity& who) {
  ppsim::MutexLock lock(&mu_);
  uint64_t& n = watches_[who.name];
  if (limits_.watch_streams != 0 && n >= limits_.watch_streams) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "quota: watch streams per identity is ", limits_.watch_streams, " (--max-watch-streams); ",
        who.Display(), " has ", n, " open"));
  }
  ++n;
  return WatchSlot(this, who.name);
}

void Quota::ReleaseWatch(const std::string& identity) {
  ppsim::MutexLock lock(&mu_);
  if (auto it = watches_.find(identity); it != watches_.end() && it->second > 0) --it->second;
}

bool Quota::Owns(const std::string& identity, uint64_t lab) const {
  ppsim::MutexLock lock(&mu_);
  auto it = owner_.find(lab);
  return it != owner_.end() && it->second == identity;
}

uint64_t Quota::labs_of(const std::string& identity) const {
  ppsim::MutexLock lock(&mu_);
  auto it = labs_.find(identity);
  return it == labs_.end() ? 0 : it->second;
}

uint64_t Quota::watches_of(const std::string& identity) const {
  ppsim::MutexLock lock(&mu_);
  auto it = watches_.find(identity);
  return it == watches_.end() ? 0 : it->second;
}

}  // namespace ppsim::service
