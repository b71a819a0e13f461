// File: client/chaos/bindings.h
// Names bound with a step's `as:` and the $NAME references that use them in later steps.
// A reference is replaced by text that op_line.h parses back:
//
//   $NAME              the op's main result: its first page handle, else first skb, else
//                      pool, else first created pool, else device, else value
//   $NAME.pages[i]     page handle i (0x10/2)      $NAME.pages   every handle, comma-separated
//   $NAME.dma[i]       page i's DMA address (0x...)
//   $NAME.skbs[i]      skb id i                    $NAME.skbs    every skb id
//   $NAME.pools[i]     created pool i              $NAME.pools   every created pool
//   $NAME.device  $NAME.pool  $NAME.ifindex  $NAME.value
#ifndef PPSIM_CLIENT_CHAOS_BINDINGS_H_
#define PPSIM_CLIENT_CHAOS_BINDINGS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ppsim/v1/ops.pb.h"

namespace ppsim::chaos {

struct Reference {
  std::string name;      // NAME
  std::string accessor;  // "" or pages, dma, skbs, pools, device, pool, ifindex, value
  int index = -1;        // [i], -1 when absent
};

// Every $reference in `text`, in order. INVALID_ARGUMENT for a malformed one
// ($x.nope, $x.device[0], $x.dma without an index).
absl::StatusOr<std::vector<Reference>> FindReferences(absl::string_view text);

class Bindings {
 public:
  void Bind(const std::string& name, v1::OpResult result) { results_[name] = std::move(result); }
  bool Has(const std::string& name) const { return results_.count(name) != 0; }

  // `text` with every reference replaced. INVALID_ARGUMENT naming the reference when the name
  // is unbound or the op bound to it produced nothing at that index.
  absl::StatusOr<std::string> Resolve(absl::string_view text) const;

 private:
  absl::StatusOr<std::string> Value(const Reference& ref) const;

  std::map<std::string, v1::OpResult> results_;
};

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_BINDINGS_H_
