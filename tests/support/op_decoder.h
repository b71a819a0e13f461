// Turns arbitrary bytes into a sequence of model ops whose ids are drawn from the objects a lab
// really has (pages handed out, skbs, pools, devices, NAPIs, readers), so that a
// coverage-guided fuzzer spends its inputs on sequences that get past validation and into the
// model — where the crashes are — while a small share of ids stays out of range or stale to keep
// the validation itself under test.
//
// Shared by the structure-aware fuzzer (tests/fuzz/lab_ops_fuzzer.cc) and the regression test
// that replays its corpus and findings (tests/unit/sim/lab_ops_corpus_test.cc): the same bytes
// always decode to the same ops on the same lab.
#ifndef PPSIM_TESTS_SUPPORT_OP_DECODER_H_
#define PPSIM_TESTS_SUPPORT_OP_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "server/sim/lab.h"

namespace ppsim::testing {

// Reads bytes front to back; past the end every read is 0.
class ByteReader {
 public:
  explicit ByteReader(absl::Span<const uint8_t> data) : data_(data) {}
  bool empty() const { return pos_ >= data_.size(); }
  uint8_t Byte() { return pos_ < data_.size() ? data_[pos_++] : 0; }
  uint32_t Below(uint32_t n) { return n == 0 ? 0 : Byte() % n; }  // n <= 256 is uniform enough
  uint32_t U16() { return uint32_t{Byte()} | uint32_t{Byte()} << 8; }

 private:
  absl::Span<const uint8_t> data_;
  size_t pos_ = 0;
};

// The lab configuration an input starts from: the first byte picks the kernel profile.
sim::LabConfig DecodeLabConfig(ByteReader& in);

// What the decoder may name: the lab's live objects, refreshed after every applied op.
struct LiveObjects {
  std::vector<sim::PageHandle> pages;  // every handle an op returned (some go stale: on purpose)
  std::vector<uint32_t> skbs;
  std::vector<sim::PoolId> pools;
  std::vector<sim::DeviceId> devices;
  std::vector<sim::NapiId> napis;
  std::vector<sim::IfIndex> ifindexes;
  std::vector<uint32_t> readers;

  // Adds what the op returned and re-reads skbs, pools, devices and NAPIs from the lab.
  void Observe(const sim::Lab& lab, const sim::OpResult& result);
};

// The next op (past the end of the input every byte reads 0). `dma_addrs`: DMA addresses the
// lab has handed out, for device_dma.
sim::Op DecodeOp(ByteReader& in, const LiveObjects& live, const sim::LabConfig& config,
                 std::vector<sim::DmaAddr>* dma_addrs);

// Applies every op the bytes decode to (at most `max_ops`) on a fresh lab and checks, after each:
// (the third byte, when odd, first sets up a bound NIC with 16 pages handed out and two skbs
// built on them: add_device, bind_driver with a strategy from the byte, alloc, two skb_build)
// the model's invariants (invariants.h); a rejected op left the digest and the trace as they
// were and said why. Returns the first failure, naming the op; OK otherwise. `log`, when set,
// receives one line per op (for reproducing a finding by hand); with `echo`, each op is also
// written to stderr before it is applied (for a finding that crashes).
absl::Status RunDecodedOps(absl::Span<const uint8_t> data, size_t max_ops,
                           std::string* log = nullptr, bool echo = false);

}  // namespace ppsim::testing

#endif  // PPSIM_TESTS_SUPPORT_OP_DECODER_H_
