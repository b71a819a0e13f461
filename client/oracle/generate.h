// The generated corpus of the kernel oracle (issue 12 item 5, issue 24 item 6): seeded random
// sequences of the oracle's op language (ops_file.h) that both the test module
// (tests/oracle/kmod/) and the model translation (model_run.h) can run, so that many more
// shapes than the hand-written sequences compare the model with real kernels.
//
// Example:
//   GenerateOptions o;                               // 50..200 ops, the default weights
//   GeneratedSequence s = GenerateSequence(42, o);   // the same seed gives the same lines
//   WriteTextFile(dir + "/" + s.name + ".ops", s.Text());   // "gen-000042.ops"
//
// Valid by construction. The generator keeps the sequence's objects in an IndexMap, the same
// bookkeeping the translation keeps for the module's tables, and emits only what the module
// accepts (tests/oracle/kmod/ppo_*.c): indices of objects that exist, pages the sequence holds
// a pool reference to, live pools for everything but a return, @napi only on a pool whose NAPI
// is enabled, no second destroy, no netdev_unregister while its NAPI is enabled, at most one
// NAPI per netdev (the model enables a netdev's NAPIs together), the module's table sizes
// (ppo.h). The one refusal it emits on purpose: page_pool_disable_direct_recycling, which 6.1
// does not have (-EOPNOTSUPP on both sides).
//
// What it never emits, because one boot runs hundreds of sequences and a pool that never
// drains stays in flight for the rest of the boot (its release worker in every later trace):
// put_page force=true (drops the pool's reference behind its back), a return with
// allow_direct=true into a destroyed pool (into an alloc cache nothing empties again: the
// README's zz-destroy-napi-enabled), get_page on a page the sequence no longer references
// (the pool may have freed it to the page allocator). Sleeps (advance_time) are rare and short:
// at most one per sequence, in about one sequence in ten, of 100..300 ms or 1.3..1.5 s (never
// near the release worker's first retry, 1 s after a destroy: the kernel's comes a little late).
//
// skbs (the kSkb* kinds): built on pages the sequence owns, always marked for recycle, and
// reshaped, merged, referenced, held and freed as generate_skb.h's picture of them allows: only
// skbs the module still holds (a held skb only for skb_frag_ref, a chained one never), frag
// indices, cuts and shifts within the frags as the kernel left them, napi_consume_skb only
// inside the poll of the live pool of the skb's first page with every page's pool live. No pool
// page's own reference ever reaches an skb without pp_recycle, which would free it with put_page
// and leave its pool in flight for good ("page_pool leak"): so no skb_build recycle=false, no
// skb_split of a pp skb but inside its last frag (whole frags would move to the split's
// unmarked skb; an unmarked skb holds page references only and splits anywhere), skb_shift
// only between skbs of one pp_recycle. What the kernel refuses it may emit (skb_try_coalesce
// and skb_gro_receive across pp_recycle, a GRO past 64 KiB): rc 0 on both sides. Never
// skb_gro_receive of an skb without frags (the frag-moving loop of skb_gro_receive assumes
// one), nor of a cloned skb or into a cloned p; skb_try_coalesce is followed by the free of
// `from`, as tcp_try_coalesce's caller frees it (kfree_skb_partial), and never takes a `from`
// whose truesize does not cover its len (skb_split's new skb, a shift's tgt: both functions
// move frags without their truesize): skb_try_coalesce's WARN_ON_ONCE(delta < len) warns once
// a boot, so whether a sequence warns depends on the ones before it (gen-000006 of the first
// skb corpus warned on 6.1, 6.12 and 7.3, later ones no more). skbs still held when the
// sequence ends are freed by the runner's reset (ppo_main.c op_reset: ppo_skb_reset, the
// holder's first, with kfree_skb, before the pages and pools), so every pool drains.
//
// The kernel runs the ops in real time (about 2 ms each under QEMU) and the model in none: a
// sequence of 200 ops takes well under the 1 s a destroyed pool waits for its first release
// retry, so that retry runs inside a sleep on both sides or on neither.
//
// Determinism: one sim::Prng per sequence, seeded with the sequence's own seed (a corpus of
// seeds S..S+N-1 is N files each reproducible from its name), fixed-arithmetic draws, integer
// weights (milli-units, as the chaos generator's).
#ifndef PPSIM_CLIENT_ORACLE_GENERATE_H_
#define PPSIM_CLIENT_ORACLE_GENERATE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ppsim::oracle {

// What the generator chooses between, one draw per op. The index of a kind in GenKinds().
enum class GenKind : uint8_t {
  kNetdevRegister, kNapiAdd, kNapiEnable, kNapiDisable, kNetdevUnregister, kAddDevice,
  kCreate, kDestroy, kDestroyNapiEnabled, kAlloc, kAllocNapi, kPut, kPutBh, kPutNapi,
  kPutDirectNapi, kPutDirectBh, kPutDirectProcess, kBulk, kBulkNapi, kUpdateNid,
  kDisableDirect, kDisableDirectNapiEnabled, kGetPage, kPutPage, kObserve,
  kAdvanceTime,  // not drawn by weight: GenerateOptions::sleep_share
  // skbs on pool pages (tests/oracle/README.md "skbs on pool pages"), after the page_pool kinds
  // so that their indices, and the corpus drawn with every skb weight 0, stay as they were.
  kSkbBuild, kSkbBuildNapi, kSkbBuildProcess, kSkbClone, kSkbExpandHead, kSkbSplit, kSkbShift,
  kSkbCoalesce, kSkbGro, kSkbSegment, kSkbFragRef, kKfreeSkb, kNapiConsumeSkb, kSkbDeferFree,
  kStackHold, kStackRelease,
};
inline constexpr int kGenKindCount = 42;

struct GenKindInfo {
  absl::string_view name;   // as --weights names it
  absl::string_view emits;
  double default_weight;
};
const std::vector<GenKindInfo>& GenKinds();

struct GenerateOptions {
  int min_ops = 50;
  int max_ops = 200;
  // Weight per kind name; a kind not named keeps its default. 0 = never.
  std::map<std::string, double> weights;
  // The share of sequences with one advance_time (100..300 ms or 1.3..1.5 s).
  double sleep_share = 0.1;
};

// INVALID_ARGUMENT naming the option: ops out of 1..1000 or min > max, an unknown kind, a
// negative or non-finite weight, every weight 0, sleep_share out of 0..1.
absl::Status ValidateGenerateOptions(const GenerateOptions& o);
// "alloc=5,put_bh=0" into o.weights; INVALID_ARGUMENT naming the item.
absl::Status ParseGenWeights(absl::string_view text, GenerateOptions& o);

struct GeneratedSequence {
  uint64_t seed = 0;
  std::string name;                // "gen-000042"
  std::vector<std::string> lines;  // one op each
  std::vector<GenKind> kinds;      // the kind that emitted each line
  std::string options;             // the options that are not the defaults, as ppctl flags
  // A header comment (how to generate it again), then the lines.
  std::string Text() const;
};

// The file name (without ".ops") of the sequence of `seed`: gen-NNNNNN, sorted by seed.
std::string GeneratedName(uint64_t seed);

// The sequence of `seed`. `o` must be valid (ValidateGenerateOptions).
GeneratedSequence GenerateSequence(uint64_t seed, const GenerateOptions& o);

}  // namespace ppsim::oracle

#endif  // PPSIM_CLIENT_ORACLE_GENERATE_H_
