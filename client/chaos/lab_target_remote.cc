// File: client/chaos/lab_target_remote.cc
// The remote target: one ppsimd lab per run, one Apply RPC per scenario step (results feed
// $NAME bindings) or per chaos batch (the generator only batches ops whose references are
// already bound), facts from the query API.
#include <memory>

#include "absl/strings/str_cat.h"
#include "client/chaos/lab_target.h"

namespace ppsim::chaos {

namespace {

class RemoteSession final : public LabSession {
 public:
  RemoteSession(client::Client* c, uint64_t id) : c_(c), id_(id) {}
  ~RemoteSession() override { (void)c_->DeleteLab(id_); }

  absl::StatusOr<Applied> Apply(const v1::Op& op) override {
    absl::StatusOr<v1::ApplyResponse> r = c_->Apply(id_, {op});
    if (!r.ok()) return r.status();
    Applied out;
    out.rejected = client::ApplyStatus(*r);
    if (out.rejected.ok()) {
      if (r->results_size() != 1) {
        return absl::InternalError(
            absl::StrCat("Apply of one op returned ", r->results_size(), " results"));
      }
      out.result = r->results(0);
    }
    return out;
  }

  absl::StatusOr<LabFacts> Facts() override {
    LabFacts f;
    absl::StatusOr<v1::LabInfo> info = c_->GetLab(id_);
    if (!info.ok()) return info.status();
    f.digest = info->digest();
    f.ops = info->ops();
    f.now_ns = info->now_ns();
    absl::StatusOr<v1::ListViolationsResponse> v = c_->ListViolations(id_);
    if (!v.ok()) return v.status();
    f.violations = *std::move(v);
    absl::StatusOr<std::vector<v1::PoolInfo>> pools = c_->ListPools(id_, /*all=*/true);
    if (!pools.ok()) return pools.status();
    f.pools = *std::move(pools);
    return f;
  }

  absl::StatusOr<BatchApplied> ApplyBatch(absl::Span<const v1::Op> ops) override {
    absl::StatusOr<v1::ApplyResponse> r = c_->Apply(id_, ops);
    if (!r.ok()) return r.status();
    BatchApplied out;
    out.results.assign(r->results().begin(), r->results().end());
    if (r->has_rejected()) {
      out.rejected_index = static_cast<int>(r->rejected().index());
      out.rejected = client::ApplyStatus(*r);
    }
    out.now_ns = r->now_ns();
    return out;
  }

  absl::StatusOr<std::vector<v1::PoolInfo>> Pools() override {
    return c_->ListPools(id_, /*all=*/true);
  }

 private:
  client::Client* c_;
  uint64_t id_;
};

class Remote final : public LabTarget {
 public:
  explicit Remote(client::Client* c) : c_(c) {}
  absl::StatusOr<std::unique_ptr<LabSession>> NewLab(const std::string& name,
                                                     const v1::LabConfig& config) override {
    absl::StatusOr<uint64_t> id = c_->CreateLab(name, config);
    if (!id.ok()) return id.status();
    return std::make_unique<RemoteSession>(c_, *id);
  }
  std::string Address() const override { return c_->target(); }

 private:
  client::Client* c_;
};

}  // namespace

std::unique_ptr<LabTarget> RemoteTarget(client::Client* client) {
  return std::make_unique<Remote>(client);
}

}  // namespace ppsim::chaos
