#include "server/sim/lagging_reader.h"

#include "absl/strings/str_format.h"
#include "server/sim/check.h"
#include "server/sim/machine.h"

namespace ppsim::sim {

namespace {
// Readers that started at or before `u` and are still inside their section: they define GP(u).
bool GracePeriodOpen(const Machine& m, Pfn pfn, Nanos u, const LaggingReader** who) {
  for (const auto& [id, r] : m.readers) {
    if (!r.ended && r.pfn == pfn && r.start <= u) {
      if (who != nullptr) *who = &r;
      return true;
    }
  }
  return false;
}

void RunDeferredPuts(Machine& m) {
  for (auto it = m.rcu_puts.begin(); it != m.rcu_puts.end();) {
    if (GracePeriodOpen(m, it->first, it->second, nullptr)) {
      ++it;
      continue;
    }
    const Pfn pfn = it->first;
    it = m.rcu_puts.erase(it);
    Frame& f = m.memory.Touch(pfn);
    if (!f.is_free()) m.PutPage(pfn, f);
  }
}
}  // namespace

void UserMap(Machine& m, Pfn pfn) {
  m.unpublished_at.erase(pfn);
  m.grace_violations.erase(pfn);
  m.digest.Mix(DigestTag::kUserMap, pfn);
}

void UserUnmap(Machine& m, Pfn pfn) {
  m.unpublished_at[pfn] = m.clock.now();
  m.grace_violations.erase(pfn);
  m.digest.Mix(DigestTag::kUserUnmap, pfn);
}

ReaderId ReaderBegin(Machine& m, Pfn pfn) {
  const ReaderId id = m.next_reader_id++;
  const Frame& f = m.memory.Touch(pfn);
  m.readers[id] = LaggingReader{id, pfn, f.generation, m.clock.now(), false, false};
  m.digest.Mix(DigestTag::kReaderBegin, uint64_t{id} << 32 | pfn);
  return id;
}

bool ReaderTryGet(Machine& m, ReaderId id) {
  LaggingReader& r = FindOrDie(m.readers, id, "reader");
  Frame& f = m.memory.Touch(r.pfn);
  if (f.is_free() || f.refcount <= 0) return false;  // folio_try_get fails at refcount 0
  m.GetPage(r.pfn, f);
  r.holds_ref = true;
  return true;
}

void ReaderEnd(Machine& m, ReaderId id) {
  LaggingReader& r = FindOrDie(m.readers, id, "reader");
  r.ended = true;
  auto unp = m.unpublished_at.find(r.pfn);
  const bool pte_changed = unp != m.unpublished_at.end() && unp->second >= r.start;
  if (r.holds_ref && pte_changed) {
    r.holds_ref = false;
    Frame& f = m.memory.Touch(r.pfn);
    if (f.generation != r.generation_seen && f.pool_owned()) {
      m.RecordPage(r.pfn, f, PageEventKind::kPutPage, 0xdead);  // a put by a non-owner
    }
    m.PutPage(r.pfn, f);
  }
  m.digest.Mix(DigestTag::kReaderEnd, id);
  RunDeferredPuts(m);
}

void PutPageAfterGracePeriod(Machine& m, Pfn pfn) {
  m.rcu_puts.emplace_back(pfn, m.clock.now());
  RunDeferredPuts(m);
}

void CheckGracePeriodAtFree(Machine& m, Pfn pfn) {
  auto unp = m.unpublished_at.find(pfn);
  if (unp == m.unpublished_at.end()) return;
  const LaggingReader* r = nullptr;
  if (m.grace_violations.contains(pfn)) return;  // reported once per unmap
  if (GracePeriodOpen(m, pfn, unp->second, &r)) {
    m.grace_violations.insert(pfn);
    m.Violate(ViolationId::kPP010,
              absl::StrFormat("pfn 0x%x freed at t=%.6fs before the grace period of its unmap "
                              "(t=%.6fs) ended: lockless reader %d started at t=%.6fs and is "
                              "still inside its read-side section; it can take a reference on "
                              "the page after it is reused (defer the free with call_rcu)",
                              pfn, m.clock.now() / 1e9, unp->second / 1e9, r->id, r->start / 1e9),
              {.pfn = pfn});
  }
  // The unmap record stays: a reader ending later must still see that its PTE changed.
}

}  // namespace ppsim::sim
