// A running 64-bit digest of every state change in a lab (design.md §3.1). Replaying a trace
// must reproduce it bit for bit, so it must not depend on the process: absl::Hash is seeded
// per process and cannot be used. The mixing step is the splitmix64 finaliser applied to the
// previous digest combined with the new word; it is order-sensitive, which is what we want.
#ifndef PPSIM_SERVER_SIM_DIGEST_H_
#define PPSIM_SERVER_SIM_DIGEST_H_

#include <cstdint>
#include "absl/strings/string_view.h"

namespace ppsim::sim {

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
  uint64_t value() const { return value_; }

 private:
  uint64_t value_ = 0x7070'5f73'696d'0001ULL;  // "pp_sim" + version of the digest scheme
};

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_DIGEST_H_
