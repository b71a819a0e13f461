// Op handlers: skbs, stack holders, lagging readers (docs/kernel/skb-and-iommu.md §1–§5).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/sim/check.h"
#include "server/sim/lab.h"
#include "server/sim/lagging_reader.h"
#include "server/sim/skb.h"
#include "server/sim/stack_holder.h"

namespace ppsim::sim {

absl::Status Lab::SkbArg(uint32_t id, absl::string_view field, bool allow_held) const {
  auto it = m_->skbs.find(id);
  if (it == m_->skbs.end()) {
    if (id == 0 || id >= m_->next_skb_id) {
      return absl::NotFoundError(absl::StrCat(field, ": skb ", id, " does not exist"));
    }
    for (const auto& [freed, op] : m_->recent_skb_frees) {
      if (freed == id) {
        return absl::FailedPreconditionError(
            absl::StrCat(field, ": skb ", id, " was freed by op #", op));
      }
    }
    return absl::FailedPreconditionError(absl::StrCat(field, ": skb ", id, " was freed"));
  }
  if (it->second.on_frag_list != 0) {
    // Chained skbs have no life of their own (skb_gro_receive's frag_list path): the list's
    // head owns and releases them.
    std::string head = "another skb";
    for (const auto& [other, skb] : m_->skbs) {
      if (skb.shinfo == it->second.on_frag_list) {
        head = absl::StrCat("skb ", other);
        break;
      }
    }
    return absl::FailedPreconditionError(
        absl::StrCat(field, ": skb ", id, " is chained on the frag_list of ", head,
                     "; it is reached only through that skb"));
  }
  if (!allow_held && it->second.holder != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, ": skb ", id, " is held by stack holder ", it->second.holder,
                     "; release it from the holder first"));
  }
  return absl::OkStatus();
}

namespace {
absl::Status FragIndexArg(const Machine& m, uint32_t skb, uint32_t i, absl::string_view field) {
  const size_t n = SkbShinfo(m, skb).frags.size();
  if (i >= n) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", i, " but skb ", skb, " has ", n, " frags"));
  }
  return absl::OkStatus();
}
absl::Status CpuArg(const Machine& m, uint32_t cpu) {
  if (cpu >= m.config.cpus) {
    return absl::InvalidArgumentError(
        absl::StrCat("cpu: ", cpu, " but the lab has ", m.config.cpus, " CPUs"));
  }
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<OpResult> Lab::Do(const op::SkbBuild& o) {
  if (o.frags.size() > MAX_SKB_FRAGS) {
    return absl::InvalidArgumentError(absl::StrCat("frags: ", o.frags.size(),
                                                   " frags; an skb holds at most ", MAX_SKB_FRAGS));
  }
  const bool has_head = o.head.pfn != 0 || o.head.generation != 0;
  if (o.frags.empty() && !has_head) {
    return absl::InvalidArgumentError("frags: an skb needs at least one frag or a page head");
  }
  std::vector<FragSpec> specs;
  for (size_t i = 0; i < o.frags.size(); ++i) {
    const op::FragArg& f = o.frags[i];
    if (absl::Status s = PageArg(f.page, absl::StrCat("frags[", i, "].page")); !s.ok()) return s;
    const uint64_t bytes = kPageSize << m_->memory.Peek(f.page.pfn)->order;
    const uint64_t len = f.len == 0 ? bytes - std::min<uint64_t>(f.offset, bytes) : f.len;
    if (f.offset + len > bytes || len == 0) {
      return absl::InvalidArgumentError(absl::StrCat("frags[", i, "]: offset ", f.offset, " + len ",
                                                     len, " exceeds the page's ", bytes, " bytes"));
    }
    specs.push_back({f.page.pfn, f.offset, static_cast<uint32_t>(len)});
  }
  if (has_head) {
    if (absl::Status s = PageArg(o.head, "head"); !s.ok()) return s;
  }
  for (size_t i = 0; i < o.frags.size(); ++i) (void)m_->ResolvePage(o.frags[i].page, "skb_add_rx_frag");
  if (has_head) (void)m_->ResolvePage(o.head, "build_skb");
  const SkbId id = SkbBuild(*m_, specs, has_head ? std::optional<Pfn>(o.head.pfn) : std::nullopt,
                            o.recycle);
  return OpResult{.skbs = {id}};
}

absl::StatusOr<OpResult> Lab::Do(const op::SkbClone& o) {
  if (absl::Status s = SkbArg(o.skb); !s.ok()) return s;
  return OpResult{.skbs = {SkbClone(*m_, o.skb)}};
}

absl::StatusOr<OpResult> Lab::Do(const op::PskbExpandHead& o) {
  if (absl::Status s = SkbArg(o.skb); !s.ok()) return s;
  PskbExpandHead(*m_, o.skb);
  return OpResult{};
}

absl::StatusOr<OpResult> Lab::Do(const op::SkbSegment& o) {
  if (absl::Status s = SkbArg(o.skb); !s.ok()) return s;
  return OpResult{.skbs = SkbSegment(*m_, o.skb)};
}

absl::StatusOr<OpResult> Lab::Do(const op::KfreeSkb& o) {
  if (absl::Status s = SkbArg(o.skb); !s.ok()) return s;
  KfreeSkb(*m_, o.skb);
  return OpResult{};
}

absl::StatusOr<OpResult> Lab::Do(const op::NapiConsumeSkb& o) {
  if (absl::Status s = SkbArg(o.skb); !s.ok()) return s;
  // Since 4a96a4e807c3 (6.10) the pool decides direct recycling from the context
  // (page_pool_napi_local); from 8c48eea3adf3 (6.4) to then, napi_consume_skb passed napi_safe
  // down to napi_pp_put_page, except with budget 0 (netpoll).
  m_->skb_free_napi_safe = o.budget != 0;
  KfreeSkb(*m_, o.skb);
  m_->skb_free_napi_safe = false;
  return OpResult{};
}

absl::StatusOr<OpResult> Lab::Do(const op::KfreeSkbConcurrent& o) {
  if (o.skbs.size() < 2 || o.skbs.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("skbs: ", o.skbs.size(), " skbs; a concurrent free takes 2..64"));
  }
  for (size_t i = 0; i < o.skbs.size(); ++i) {
    if (absl::Status s = SkbArg(o.skbs[i], absl::StrCat("skbs[", i, "]")); !s.ok()) return s;
    for (size_t j = 0; j < i; ++j) {
      if (o.skbs[j] == o.skbs[i]) {
        return absl::InvalidArgumentError(absl::StrCat("skbs[", i, "]: skb ", o.skbs[i],
                                                       " is listed twice"));
      }
    }
  }
  KfreeSkbConcurrent(*m_, o.skbs);
  return OpResult{};
}

absl::StatusOr<OpResult> Lab::Do(const op::SkbDeferFree& o) {
  if (absl::Status s = SkbArg(o.skb); !s.ok()) return s;
  // value: the deferred-free list's holder, 0 when the skb was freed at once.
  return OpResult{.value = SkbAttemptDeferFree(*m_, o.skb)};
}

absl::StatusOr<OpResult> Lab::Do(const op::EspReleaseFrags& o) {
  if (absl::Status s = SkbArg(o.skb); !s.ok()) return s;
  EspReleaseFrags(*m_, o.skb);
  return OpResult{};
}

absl::StatusOr<OpResult> Lab::Do(const op::PskbTrim& o) {
  if (absl::Status s = SkbArg(o.skb); !s.ok()) return s;
  PskbTrim(*m_, o.skb, o.keep_frags);
  return OpResult{};
}

absl::StatusOr<OpResult> Lab::Do(const op::SkbSplit& o) {
  if (absl::Status s = SkbArg(o.skb); !s.ok()) return s;
  if (absl::Status s = FragIndexArg(*m_, o.skb, o.at, "at"); !s.ok()) return s;
  const SkbFrag& fr = SkbShinfo(*m_, o.skb).frags[o.at];
  if (o.cut >= fr.len) {
    return absl::InvalidArgumentError(
        absl::StrCat("cut: ", o.cut, " but frag ", o.at, " is ", fr.len, " bytes long"));
  }
  return OpResult{.skbs = {SkbSplit(*m_, o.skb, o.at, o.cut)}};
}

absl::StatusOr<OpResult> Lab::Do(const op::SkbShift& o) {
  if (absl::Status s = SkbArg(o.tgt, "tgt"); !s.ok()) return s;
  if (absl::Status s = SkbArg(o.skb); !s.ok()) return s;
  if (o.tgt == o.skb) return absl::InvalidArgumentError("skb: shifting an skb into itself");
  if (o.count == 0 && o.partial == 0) {
    return absl::InvalidArgumentError("count: 0 with partial 0 shifts nothing");
  }
  return OpResult{.value = SkbShift(*m_, o.tgt, o.skb, o.count, o.partial) ? 1u : 0u};
}

absl::StatusOr<OpResult> Lab::Do(const op::SkbTryCoalesce& o) {
  if (absl::Status s = SkbArg(o.to, "to"); !s.ok()) return s;
  if (absl::Status s = SkbArg(o.from, "from"); !s.ok()) return s;
  if (o.to == o.from) return absl::InvalidArgumentError("from: coalescing an skb into itself");
  std::optional<SkbId> racing;
  if (o.racing_clone != 0) {
    if (absl::Status s = SkbArg(o.racing_clone, "racing_clone"); !s.ok()) return s;
    const Skb& r = FindOrDie(m_->skbs, o.racing_clone, "skb");
    if (o.racing_clone == o.from || r.shinfo != FindOrDie(m_->skbs, o.from, "skb").shinfo) {
      return absl::InvalidArgumentError(absl::StrCat(
          "racing_clone: skb ", o.racing_clone, " is not another clone of skb ", o.from));
    }
    racing = o.racing_clone;
  }
  return OpResult{.value = SkbTryCoalesce(*m_, o.to, o.from, racing) ? 1u : 0u};
}

absl::StatusOr<OpResult> Lab::Do(const op::SkbGroReceive& o) {
  if (absl::Status s = SkbArg(o.p, "p"); !s.ok()) return s;
  if (absl::Status s = SkbArg(o.skb); !s.ok()) return s;
  if (o.p == o.skb) return absl::InvalidArgumentError("skb: merging an skb into itself");
  // GRO merges a freshly received skb into a held one; an skb and its own clone share one
  // skb_shared_info, so "moving" the frags would move them onto themselves.
  if (FindOrDie(m_->skbs, o.p, "skb").shinfo == FindOrDie(m_->skbs, o.skb, "skb").shinfo) {
    return absl::InvalidArgumentError(absl::StrCat("skb: skb ", o.skb, " and p (skb ", o.p,
                                                   ") are clones sharing one data area"));
  }
  return OpResult{.value = SkbGroReceive(*m_, o.p, o.skb) ? 1u : 0u};
}

absl::StatusOr<OpResult> Lab::Do(const op::SkbFragRef& o) {
  if (absl::Status s = SkbArg(o.skb, "skb", /*allow_held=*/true); !s.ok()) return s;
  if (absl::Status s = FragIndexArg(*m_, o.skb, o.frag, "frag"); !s.ok()) return s;
  const FragRef ref = SkbFragRef(*m_, o.skb, o.frag);
  const Pfn pfn = SkbShinfo(*m_, o.skb).frags[o.frag].pfn;
  // value 1: the reference is a pp reference (drop it with napi_pp_put_page), 0: a page
  // reference (drop it with put_page). Callers must not guess it from pp_recycle.
  return OpResult{.pages = {Ref(pfn)}, .value = ref == FragRef::kPp ? 1u : 0u};
}

absl::StatusOr<OpResult> Lab::Do(const op::SkbPullPage& o) {
  if (absl::Status s = SkbArg(o.skb, "skb", /*allow_held=*/true); !s.ok()) return s;
  if (absl::Status s = FragIndexArg(*m_, o.skb, o.frag, "frag"); !s.ok()) return s;
  const PageHandle h = SkbPullPage(*m_, o.skb, o.frag);
  return OpResult{.pages = {Ref(h.pfn)}};
}

absl::StatusOr<OpResult> Lab::Do(const op::StackHold& o) {
  if (absl::Status s = SkbArg(o.skb); !s.ok()) return s;
  absl::StatusOr<HolderKind> kind = ParseHolderKind(o.holder);
  if (!kind.ok()) return kind.status();
  if (absl::Status s = CpuArg(*m_, o.cpu); !s.ok()) return s;
  return OpResult{.value = StackHold(*m_, o.skb, *kind, static_cast<uint16_t>(o.cpu))};
}

absl::StatusOr<OpResult> Lab::Do(const op::StackRelease& o) {
  absl::StatusOr<HolderKind> kind = ParseHolderKind(o.holder);
  if (!kind.ok()) return kind.status();
  if (absl::Status s = CpuArg(*m_, o.cpu); !s.ok()) return s;
  return OpResult{.value = StackRelease(*m_, *kind, static_cast<uint16_t>(o.cpu), o.count)};
}

absl::StatusOr<OpResult> Lab::Do(const op::NetRxAction& o) {
  if (absl::Status s = CpuArg(*m_, o.cpu); !s.ok()) return s;
  return OpResult{.value = NetRxAction(*m_, static_cast<uint16_t>(o.cpu))};
}

absl::StatusOr<OpResult> Lab::Do(const op::UserMap& o) {
  if (absl::Status s = PageArg(o.page); !s.ok()) return s;
  if (m_->ResolvePage(o.page, "vm_insert_page") == nullptr) return OpResult{};
  UserMap(*m_, o.page.pfn);
  return OpResult{};
}

absl::StatusOr<OpResult> Lab::Do(const op::UserUnmap& o) {
  if (absl::Status s = PageArg(o.page); !s.ok()) return s;
  UserUnmap(*m_, o.page.pfn);
  return OpResult{};
}

absl::StatusOr<OpResult> Lab::Do(const op::ReaderBegin& o) {
  if (absl::Status s = PageArg(o.page); !s.ok()) return s;
  return OpResult{.value = ReaderBegin(*m_, o.page.pfn)};
}

absl::StatusOr<OpResult> Lab::Do(const op::PutPageRcu& o) {
  if (absl::Status s = PageArg(o.page); !s.ok()) return s;
  if (m_->ResolvePage(o.page, "put_page_rcu") == nullptr) return OpResult{};
  PutPageAfterGracePeriod(*m_, o.page.pfn);
  return OpResult{};
}

namespace {
absl::Status ReaderArg(const Machine& m, uint32_t id) {
  auto it = m.readers.find(id);
  if (it == m.readers.end()) {
    return absl::NotFoundError(absl::StrCat("reader: reader ", id, " does not exist"));
  }
  if (it->second.ended) {
    return absl::FailedPreconditionError(absl::StrCat("reader: reader ", id, " already ended"));
  }
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<OpResult> Lab::Do(const op::ReaderTryGet& o) {
  if (absl::Status s = ReaderArg(*m_, o.reader); !s.ok()) return s;
  if (FindOrDie(m_->readers, o.reader, "reader").holds_ref) {
    return absl::FailedPreconditionError(
        absl::StrCat("reader: reader ", o.reader, " already holds a reference"));
  }
  return OpResult{.value = ReaderTryGet(*m_, o.reader) ? 1u : 0u};
}

absl::StatusOr<OpResult> Lab::Do(const op::ReaderEnd& o) {
  if (absl::Status s = ReaderArg(*m_, o.reader); !s.ok()) return s;
  ReaderEnd(*m_, o.reader);
  return OpResult{};
}

}  // namespace ppsim::sim
