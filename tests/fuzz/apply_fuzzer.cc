// libFuzzer target: the Apply path without a network. Bytes → ParseRequest, the service's own
// decoding (raw_method.h: bytes that do not parse must be INVALID_ARGUMENT naming the type, and
// are then dropped from the corpus) → LabRegistry::Apply, the whole of what OpsService/Apply
// does between decoding and encoding (op_convert, the model, events to the hub) →
// SerializeResponse, the service's encoding.
//
// Each input gets a fresh registry and a fresh lab (lab id 1; another id exercises NOT_FOUND)
// with a small machine, after a setup prefix that adds a device, binds a driver (pool 1) and
// allocates pages, so ops have something to act on. The seeds in corpus/apply_fuzzer/ reference
// the setup's page handles (make_apply_corpus.py).
//
// Invariants checked beyond "no crash, leak or UB": Apply fails only with NOT_FOUND; the
// response accounts for every op (results + the rejected one, or all of them); a rejection
// carries a non-OK code and a message naming the op's index; a rejected op leaves the digest
// the same as a lab that never saw it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/logging.h"
#include "ppsim/v1/service.pb.h"
#include "server/service/event_hub.h"
#include "server/service/lab_registry.h"
#include "server/service/raw_method.h"

namespace {

using ppsim::service::LabRegistry;
namespace v1 = ppsim::v1;

// Bounds the work of one input so that none nears libFuzzer's -timeout: at most this many ops
// are applied (the rest are dropped before Apply).
constexpr int kMaxOpsPerInput = 64;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "apply_fuzzer: %s\n", what.c_str());
  std::abort();
}

ppsim::sim::LabConfig SmallLab() {
  ppsim::sim::LabConfig c;
  c.ram_bytes = uint64_t{64} << 20;  // 16k frames: allocation failure is reachable
  c.cpus = 4;
  c.page_event_log_capacity = 4096;
  c.max_violation_records = 256;
  c.seed = 1;
  return c;
}

// Device 1 bound (pool 1, legacy teardown so late unmaps are possible), 4 pages allocated in
// softirq context on CPU 0: handles the seeds know.
v1::ApplyRequest Setup() {
  v1::ApplyRequest req;
  req.set_lab(1);
  req.add_ops()->mutable_add_device();
  v1::BindDriver* bind = req.add_ops()->mutable_bind_driver();
  bind->set_device(1);
  bind->set_strategy("legacy");
  v1::Op* alloc = req.add_ops();
  alloc->mutable_ctx()->set_kind(v1::CTX_SOFTIRQ);
  alloc->mutable_page_pool_alloc_pages()->set_pool(1);
  alloc->mutable_page_pool_alloc_pages()->set_count(4);
  return req;
}

struct Fresh {
  ppsim::service::EventHub hub;
  LabRegistry labs{&hub};
  uint64_t digest_after_setup = 0;
};

std::unique_ptr<Fresh> NewLab() {
  auto f = std::make_unique<Fresh>();
  absl::StatusOr<std::shared_ptr<ppsim::service::LabEntry>> e = f->labs.Create("fuzz", SmallLab());
  if (!e.ok()) Fail(absl::StrCat("Create: ", e.status().ToString()));
  const v1::ApplyRequest setup = Setup();
  absl::StatusOr<v1::ApplyResponse> r = f->labs.Apply((*e)->id, setup.ops());
  if (!r.ok() || r->has_rejected()) Fail("the setup prefix was rejected");
  f->digest_after_setup = r->digest();
  return f;
}

}  // namespace

// Protobuf logs every string field that is not UTF-8 while parsing; that is an expected
// rejection here, and the noise would bury a real report.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  grpc::Slice slice(data, size);
  const grpc::ByteBuffer bytes(&slice, 1);
  v1::ApplyRequest req;
  if (absl::Status s = ppsim::service::ParseRequest(bytes, &req); !s.ok()) {
    if (s.code() != absl::StatusCode::kInvalidArgument ||
        !absl::StartsWith(s.message(), absl::StrCat("request: ", size, " bytes are not a "
                                                    "ppsim.v1.ApplyRequest"))) {
      Fail(absl::StrCat("a parse failure that does not say so: ", s.ToString()));
    }
    return -1;  // not in the corpus
  }
  if (req.ops_size() > kMaxOpsPerInput) {
    req.mutable_ops()->DeleteSubrange(kMaxOpsPerInput, req.ops_size() - kMaxOpsPerInput);
  }
  std::unique_ptr<Fresh> f = NewLab();
  absl::StatusOr<v1::ApplyResponse> r = f->labs.Apply(req.lab(), req.ops());
  if (!r.ok()) {
    if (req.lab() == 1 || r.status().code() != absl::StatusCode::kNotFound) {
      Fail(absl::StrCat("Apply on lab ", req.lab(), ": ", r.status().ToString()));
    }
    return 0;
  }
  const int applied = r->results_size();
  if (r->has_rejected()) {
    const v1::Rejection& rej = r->rejected();
    if (rej.index() != static_cast<uint32_t>(applied) || rej.code() == 0 ||
        !absl::StartsWith(rej.message(), absl::StrCat("ops[", applied, "]"))) {
      Fail(absl::StrCat("bad rejection after ", applied, " ops: ", rej.ShortDebugString()));
    }
  } else if (applied != req.ops_size()) {
    Fail(absl::StrCat(applied, " results for ", req.ops_size(), " ops and no rejection"));
  }
  // A rejected op changes nothing (docs/design.md §4): the same prefix on a fresh lab reaches the
  // same digest.
  if (r->has_rejected()) {
    std::unique_ptr<Fresh> g = NewLab();
    google::protobuf::RepeatedPtrField<v1::Op> prefix(req.ops().begin(),
                                                      req.ops().begin() + applied);
    absl::StatusOr<v1::ApplyResponse> p = g->labs.Apply(1, prefix);
    if (!p.ok() || p->has_rejected() || p->digest() != r->digest()) {
      Fail(absl::StrCat("the rejected op ", applied, " changed the digest"));
    }
  }
  grpc::ByteBuffer wire;
  ppsim::service::SerializeResponse(*r, &wire);
  v1::ApplyResponse back;
  if (!ppsim::service::ParseRequest(wire, &back).ok() || back.digest() != r->digest()) {
    Fail("the response does not serialise and parse back");
  }
  return 0;
}
