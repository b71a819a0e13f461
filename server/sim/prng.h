// The lab's only source of randomness (docs/design.md §3.1: deterministic labs).
//
// std::mt19937_64's output sequence is fixed by the C++ standard, so a seed gives the same
// numbers with any conforming library. The standard *distributions* are not portable, so the
// bounded draws below are done here with fixed arithmetic.
#ifndef PPSIM_SERVER_SIM_PRNG_H_
#define PPSIM_SERVER_SIM_PRNG_H_

#include <cstdint>
#include <random>

namespace ppsim::sim {

class Prng {
 public:
  explicit Prng(uint64_t seed) : engine_(seed) {}

  uint64_t Next() {
    ++draws_;
    return engine_();
  }

  // Uniform in [0, bound). bound must be > 0. Lemire's multiply-shift: one draw, no loop; the
  // bias (< bound / 2^64) is irrelevant for a simulator and keeps the draw count fixed.
  uint64_t Uniform(uint64_t bound) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * bound) >> 64);
  }

  // True with probability p. Exact at 0 and 1, and draws nothing there, so setting a fault to
  // probability 0 or 1 never perturbs the rest of a seeded run.
  bool Bernoulli(double p) {
    if (p <= 0.0) return false;
    if (p >= 1.0) return true;
    // 53 random bits → a double in [0, 1).
    return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p;
  }

  uint64_t draws() const { return draws_; }

 private:
  std::mt19937_64 engine_;
  uint64_t draws_ = 0;
};

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_PRNG_H_
