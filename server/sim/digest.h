// A running 64-bit digest of every state change in a lab (docs/design.md §3.1). Replaying a trace
// must reproduce it bit for bit, so it must not depend on the process: absl::Hash is seeded
// per process and cannot be used. The mixing step is the splitmix64 finaliser applied to the
// previous digest combined with the new word; it is order-sensitive, which is what we want.
#ifndef PPSIM_SERVER_SIM_DIGEST_H_
#define PPSIM_SERVER_SIM_DIGEST_H_

#include <cstddef>
#include <cstdint>
#include <iterator>

#include "absl/strings/string_view.h"

namespace ppsim::sim {

// The tag that opens a digest word recording one kind of state change, so that two changes
// with the same payload (a pool id, a pfn) never mix the same word. A tagged word is
// `tag | payload`: the skb, stack and reader tags sit in bits 56..63 above ids and pfns, the
// pool, NAPI and IOMMU tags in bits 32..63 above one 32-bit id or count. The values are part
// of the digest scheme: changing one changes every recorded digest (traces, the catalog).
enum class DigestTag : uint64_t {
  // skbs (skb.h) and the stack holders that keep them (stack_holder.h)
  kOpResultSkb = uint64_t{0x5a} << 56,  // an skb id in an op's result (Lab::Apply)
  kSkbAlloc = uint64_t{0x5b} << 56,     // a new skb: skb_build, skb_split's skb1, segments
  kSkbClone = uint64_t{0x5c} << 56,
  kKfreeSkb = uint64_t{0x5d} << 56,
  kPskbExpandHead = uint64_t{0x5e} << 56,
  kSkbTryCoalesce = uint64_t{0x5f} << 56,
  kSkbGroReceive = uint64_t{0x60} << 56,
  kStackHold = uint64_t{0x61} << 56,
  kStackRelease = uint64_t{0x62} << 56,
  // lagging readers and the page tables they read (lagging_reader.h)
  kUserMap = uint64_t{0x70} << 56,
  kUserUnmap = uint64_t{0x71} << 56,
  kReaderBegin = uint64_t{0x72} << 56,
  kReaderEnd = uint64_t{0x73} << 56,
  // page pools (page_pool.h)
  kPagePoolCreate = uint64_t{0x9001} << 32,
  kPagePoolUpdateNid = uint64_t{0x9002} << 32,
  kPagePoolDisableDirectRecycling = uint64_t{0x9003} << 32,
  kPagePoolEnableDirectRecycling = uint64_t{0x9004} << 32,
  kPagePoolRelease = uint64_t{0x9005} << 32,  // page_pool_release's inflight
  kPagePoolDestroy = uint64_t{0x9006} << 32,
  kPagePoolFree = uint64_t{0x9007} << 32,     // __page_pool_destroy
  kPagePoolUnlist = uint64_t{0x9008} << 32,   // unlisted with NET_PTR_POISON (netns dismantled)
  kXdpRegMemModel = uint64_t{0x9010} << 32,
  // NAPI (napi.h)
  kNapiSchedule = uint64_t{0x9020} << 32,
  kNapiCompleteDone = uint64_t{0x9021} << 32,
  // IOMMU (dma_api.h)
  kIotlbFlush = uint64_t{0xf1} << 32,
};

// Every DigestTag, for the checks below: a new tag goes here too.
inline constexpr DigestTag kDigestTags[] = {
    DigestTag::kOpResultSkb, DigestTag::kSkbAlloc, DigestTag::kSkbClone, DigestTag::kKfreeSkb,
    DigestTag::kPskbExpandHead, DigestTag::kSkbTryCoalesce, DigestTag::kSkbGroReceive,
    DigestTag::kStackHold, DigestTag::kStackRelease,
    DigestTag::kUserMap, DigestTag::kUserUnmap, DigestTag::kReaderBegin, DigestTag::kReaderEnd,
    DigestTag::kPagePoolCreate, DigestTag::kPagePoolUpdateNid,
    DigestTag::kPagePoolDisableDirectRecycling, DigestTag::kPagePoolEnableDirectRecycling,
    DigestTag::kPagePoolRelease, DigestTag::kPagePoolDestroy, DigestTag::kPagePoolFree,
    DigestTag::kPagePoolUnlist, DigestTag::kXdpRegMemModel,
    DigestTag::kNapiSchedule, DigestTag::kNapiCompleteDone,
    DigestTag::kIotlbFlush,
};

namespace digest_internal {
constexpr bool TagsDistinct() {
  for (size_t i = 0; i < std::size(kDigestTags); ++i) {
    for (size_t j = i + 1; j < std::size(kDigestTags); ++j) {
      if (kDigestTags[i] == kDigestTags[j]) return false;
    }
  }
  return true;
}
// A tag leaves the payload's bits (at least the low 32) clear, so `tag | payload` keeps both.
constexpr bool TagsLeavePayloadBits() {
  for (DigestTag t : kDigestTags) {
    if ((static_cast<uint64_t>(t) & 0xffff'ffffULL) != 0) return false;
  }
  return true;
}
}  // namespace digest_internal
static_assert(digest_internal::TagsDistinct(), "two DigestTags share a value");
static_assert(digest_internal::TagsLeavePayloadBits(), "a DigestTag overlaps its payload bits");

class Digest {
 public:
  void Mix(uint64_t word) {
    uint64_t z = value_ ^ (word + 0x9e3779b97f4a7c15ULL + (value_ << 6) + (value_ >> 2));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    value_ = z ^ (z >> 31);
  }
  void Mix(absl::string_view s) {
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the bytes, then one mixing step
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
    Mix(h ^ s.size());
  }
  // One tagged word: `tag | payload` (DigestTag says where each tag's payload fits).
  void Mix(DigestTag tag, uint64_t payload) { Mix(static_cast<uint64_t>(tag) | payload); }
  uint64_t value() const { return value_; }

 private:
  uint64_t value_ = 0x7070'5f73'696d'0001ULL;  // "pp_sim" + version of the digest scheme
};

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_DIGEST_H_
