// Per-identity quotas and the daemon's memory cap (docs/design.md §7: "Over the limit →
// RESOURCE_EXHAUSTED, and the daemon stays up"). Identities come from auth.h; in open mode all
// callers are the one anonymous identity and share its quotas.
//
// What is limited, and when it is checked (0 turns a limit off):
//   labs           labs alive per identity                     CreateLab
//   lab_ram_bytes  LabConfig.ram_bytes of one lab              CreateLab, ReplayTrace
//   lab_frames     materialised frames of one lab (memory.h:   each op of a batch or replay
//                  sections of 2^14 frames made on first touch)
//   batch_ops      ops in one Apply/Stream batch               each batch
//   watch_streams  open Watch streams per identity             Watch
//   ops_per_second ops per identity, token bucket with one     each batch (SetFault and
//                  second of burst on the monotonic clock      ClearFaults count one op)
//   memory_cap     the daemon's resident set (/proc/self/statm,CreateLab, ReplayTrace, each
//                  sampled at most every 50 ms)                batch
// Message size is gRPC's global receive limit (services.cc); gRPC itself refuses a bigger
// request with RESOURCE_EXHAUSTED "received message larger than max (N vs. LIMIT)".
//
// The frames and memory checks run before a batch and again before each of its ops
// (ChargeOp): the op that crosses a limit is applied, the batch stops at the next one with
// RESOURCE_EXHAUSTED as its rejection (`rejected.index` and `ops` in the response say how far
// it got), and a batch refused before its first op changes nothing (same digest). Frames are never given back (the model keeps
// sections once made), so a lab over its frame quota can still be read, exported and deleted
// but takes no more ops. RSS does not shrink at once when labs are deleted either (the
// allocator keeps some freed memory), so the cap is a ceiling to stay under, not a meter.
//
// Every refusal names the quota, the limit, the flag that sets it and the value found:
//   "quota: labs per identity is 8 (--max-labs); alice has 8"
#ifndef PPSIM_SERVER_SERVICE_QUOTA_H_
#define PPSIM_SERVER_SERVICE_QUOTA_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/store/mutex.h"
#include "server/service/auth.h"
#include "server/service/lab_registry.h"
#include "server/service/limits.h"

namespace ppsim::service {

struct QuotaLimits {
  uint64_t labs = 256;
  uint64_t lab_ram_bytes = 0;             // 0: the model's own 16 TiB bound
  uint64_t lab_frames = uint64_t{4} << 20;  // 16 GiB of touched 4 KiB pages, ~200 MiB of host
  uint64_t batch_ops = 65536;
  uint64_t watch_streams = 64;
  uint64_t ops_per_second = 0;
  uint64_t memory_cap_bytes = 0;

  // Every limit off: the in-process unit tests and embedded users.
  static QuotaLimits Unlimited() { return QuotaLimits{0, 0, 0, 0, 0, 0, 0}; }
};

// "16GiB", "512MiB", "64k", "1000": a count or byte size with an optional binary (Ki, Mi, Gi,
// Ti, with or without B) or decimal (k, M, G, T) suffix. Errors say what is wrong with `text`.
absl::StatusOr<uint64_t> ParseSize(absl::string_view text);

// The process's resident set size in bytes (0 if /proc is unreadable).
uint64_t ReadResidentBytes();

class Quota;

// One open Watch stream counted against its identity; gives its slot back when destroyed.
class WatchSlot {
 public:
  WatchSlot() = default;
  WatchSlot(Quota* quota, std::string identity) : quota_(quota), identity_(std::move(identity)) {}
  WatchSlot(WatchSlot&& o) noexcept : quota_(o.quota_), identity_(std::move(o.identity_)) {
    o.quota_ = nullptr;
  }
  WatchSlot& operator=(WatchSlot&&) = delete;
  ~WatchSlot();

 private:
  Quota* quota_ = nullptr;
  std::string identity_;
};

class Quota {
 public:
  using Clock = std::function<int64_t()>;      // monotonic nanoseconds
  using MemoryProbe = std::function<uint64_t()>;  // resident bytes

  explicit Quota(QuotaLimits limits = QuotaLimits::Unlimited(), Clock now = nullptr,
                 MemoryProbe rss = nullptr);

  const QuotaLimits& limits() const { return limits_; }

  // CreateLab: counts a lab for `who` if the labs, RAM and memory quotas allow it. Follow with
  // AddLab (created) or CancelLab (creation failed).
  absl::Status ReserveLab(const Identity& who, uint64_t ram_bytes);
  void AddLab(const Identity& who, uint64_t lab);
  void CancelLab(const Identity& who);
  // DeleteLab succeeded: the lab no longer counts.
  void RemoveLab(uint64_t lab);
  // At start, after LabRegistry::Recover: counts every lab of `labs` against its owner and
  // indexes it for Owns, as CreateLab would have. Never refuses: a restart must not drop a lab
  // because a quota shrank, so an identity may end up over its labs quota (logged at warn; its
  // CreateLab is refused until it deletes enough). Returns how many identities are over it.
  uint64_t AdoptLabs(const LabRegistry& labs);
  // ReplayTrace's private lab: RAM and memory only (it is never registered).
  absl::Status CheckScratchLab(uint64_t ram_bytes);

  // A batch of `ops` ops on lab `e` (ops per batch, frames, memory, rate). Takes e.mu briefly
  // when the frames quota is on; call without it.
  absl::Status AdmitBatch(const Identity& who, const LabEntry& e, size_t ops);
  // Before each op of an admitted batch, with e.mu held (LabRegistry::OpGuard): the frames
  // quota and the memory cap again, so a batch stops at the op after the one that crossed a
  // limit instead of running to its end. One op materialises at most a few sections (an alloc
  // of 65,536 pages is 4), so a lab overshoots --max-lab-frames by at most that.
  absl::Status ChargeOp(const LabEntry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  // The same before each op of ReplayTrace's scratch lab (sim::Replay's guard).
  absl::Status ChargeScratchOp(const sim::Lab& lab);

  absl::StatusOr<WatchSlot> AdmitWatch(const Identity& who);

  // Whether `identity` created lab `lab` (Watch of every lab by a non-admin). Takes only the
  // quota's own lock, which is never held while taking another: safe under the hub lock.
  bool Owns(const std::string& identity, uint64_t lab) const;

  // Counters, for tests.
  uint64_t labs_of(const std::string& identity) const;
  uint64_t watches_of(const std::string& identity) const;

 private:
  friend class WatchSlot;
  struct Bucket {
    double tokens = 0;
    int64_t last_ns = 0;
  };
  absl::Status CheckMemoryLocked(absl::string_view what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckRamLocked(uint64_t ram_bytes) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckFramesHeld(const LabEntry& e) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  absl::Status CheckFrames(const sim::Lab& lab, absl::string_view who,
                           absl::string_view then) const;
  void ReleaseWatch(const std::string& identity);

  const QuotaLimits limits_;
  Clock now_;
  MemoryProbe rss_;

  mutable ppsim::Mutex mu_;
  // Per identity: labs alive + reserved; lab -> identity; open streams.
  absl::flat_hash_map<std::string, uint64_t> labs_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, std::string> owner_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> watches_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  uint64_t rss_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t rss_read_ns_ ABSL_GUARDED_BY(mu_) = -1;
};

// What the services check every call against: who is calling (auth.h), how much they may
// use (above) and how big a message may be. Both objects must outlive the server.
struct CallPolicy {
  const Authenticator* auth = nullptr;  // nullptr: open mode
  Quota* quota = nullptr;               // nullptr: no quotas
  int max_message_bytes = kMaxMessageBytes;
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_QUOTA_H_
