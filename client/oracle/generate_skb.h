// The generated corpus's picture of the skbs a sequence holds (generate.h), so that the skb ops
// it draws name only what the test module accepts (tests/oracle/kmod/ppo_skb.c) and their
// fields fit the skbs as the kernel left them: frag counts, sizes and offsets, len, clones
// (a shared data area and its dataref), frag_lists, the holder's queue.
//
// Kept with the kernel's semantics (net/core/skbuff.c, net/core/gro.c as of 6.12 and 7.3),
// independently of the model (server/sim/skb*.cc): the corpus does not change when the model
// does, and a model that disagrees shows as a divergence on the kernel. Only for the shapes the
// generator emits: every skb has an empty linear area (headlen 0, tailroom 0: the module's
// skbs), skbs that are shifted, split or merged are not cloned and have no frag_list.
//
// Where the kernels differ (6.1 refuses skb_try_coalesce of a cloned pp skb, f7dc3248dcfb), the
// picture is 6.12's; on 6.1 a later op may then be refused, on both sides alike.
#ifndef PPSIM_CLIENT_ORACLE_GENERATE_SKB_H_
#define PPSIM_CLIENT_ORACLE_GENERATE_SKB_H_

#include <cstdint>
#include <deque>
#include <vector>

namespace ppsim::oracle {

inline constexpr int kShadowMaxSkbFrags = 17;         // MAX_SKB_FRAGS (x86-64, Debian)
inline constexpr int kShadowGroMaxSize = 65536;       // lo's gro_max_size (GRO_LEGACY_MAX_SIZE)

struct ShadowFrag {
  int page = 0;  // the sequence's page index
  int off = 0;
  int len = 0;
};

// skb_shared_info and the head: what clones share.
struct ShadowData {
  int dataref = 1;
  std::vector<ShadowFrag> frags;
  int head = 0;                // a page head (build_skb), 0 = a slab head
  std::vector<int> frag_list;  // chained skbs (skb_gro_receive's merge path)
};

enum class ShadowState : uint8_t { kLive, kHeld, kChained, kFreed };

struct ShadowSkb {
  int data = 0;  // index into the data areas
  bool pp = false;  // skb->pp_recycle
  ShadowState state = ShadowState::kLive;
  int len = 0;   // skb->len (== data_len: headlen 0)
  // skb->truesize beyond SKB_TRUESIZE(skb_end_offset(skb)): what its frags brought in
  // (skb_add_rx_frag's truesize, the module's frag size). skb_split and skb_shift move frags
  // without it, and skb_try_coalesce warns when `from` has less than its len
  // (WARN_ON_ONCE(delta < len)); skb_segment adds each segment's data_len.
  int excess = 0;
  // Has been `p` of skb_gro_receive: the module keeps its GRO control block (last, count).
  bool gro_p = false;
  int gro_last = 0;  // NAPI_GRO_CB(p)->last: p itself or the last skb chained on it
};

enum class GroResult : uint8_t { kRefusedMix, kRefusedSize, kMerged, kChained };

class SkbShadow {
 public:
  // skb_build with frags (in order) and a page head (0: alloc_skb(0)), marked for recycle.
  int Build(const std::vector<ShadowFrag>& frags, int head, bool pp);
  int Clone(int s);                       // skb_clone
  void ExpandHead(int s);                 // pskb_expand_head(skb, 0, 0)
  int Split(int s, int at, int cut);      // skb_split at frag `at`, `cut` bytes into it
  // skb_shift of `count` whole frags and `partial` bytes of the next; the bytes moved, 0 when
  // the kernel refuses (nothing changes then).
  int Shift(int tgt, int s, int count, int partial);
  bool Coalesce(int to, int from);        // skb_try_coalesce (6.12's rule)
  GroResult Gro(int p, int skb);          // skb_gro_receive, then napi_skb_finish's free
  std::vector<int> Segment(int s);        // skb_segment: one segment per frag
  void Free(int s);                       // kfree_skb, napi_consume_skb, defer free
  void Hold(int s);                       // stack_hold
  std::vector<int> Release(int count);    // stack_release count (0 = all): the skbs freed

  int count() const { return static_cast<int>(skbs_.size()); }
  const ShadowSkb& skb(int s) const { return skbs_[s - 1]; }
  const ShadowData& data(int s) const { return datas_[skb(s).data]; }
  bool Live(int s) const { return skb(s).state == ShadowState::kLive; }
  bool Cloned(int s) const { return data(s).dataref > 1; }
  bool SharesData(int a, int b) const { return skb(a).data == skb(b).data; }
  int LiveCount() const;
  int held() const { return static_cast<int>(holder_.size()); }
  // The pages skb `s` references: its head, its frags, those of its frag_list.
  std::vector<int> Pages(int s) const;
  // Page references held by skbs not freed (head and frags of every data area in use).
  int PageCount() const;

 private:
  int NewSkb(bool pp, int len);
  void DropData(int data);
  ShadowSkb& Mut(int s) { return skbs_[s - 1]; }
  ShadowData& MutData(int s) { return datas_[skbs_[s - 1].data]; }

  std::vector<ShadowSkb> skbs_;
  std::vector<ShadowData> datas_;
  std::deque<int> holder_;
};

}  // namespace ppsim::oracle

#endif  // PPSIM_CLIENT_ORACLE_GENERATE_SKB_H_
