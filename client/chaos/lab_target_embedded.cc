// File: client/chaos/lab_target_embedded.cc
// The embedded target: server/sim in this process, ops and results converted by
// server/convert exactly as ppsimd converts them.
#include <memory>
#include <mutex>

#include "client/chaos/lab_target.h"
#include "server/convert/info_convert.h"
#include "server/convert/op_convert.h"
#include "server/sim/fault_injector.h"
#include "server/sim/lab.h"

namespace ppsim::chaos {

namespace {

class EmbeddedSession final : public LabSession {
 public:
  explicit EmbeddedSession(std::unique_ptr<sim::Lab> lab) : lab_(std::move(lab)) {}

  absl::StatusOr<Applied> Apply(const v1::Op& op) override {
    Applied out;
    absl::StatusOr<sim::Op> o = convert::OpFromProto(op);
    if (!o.ok()) {
      out.rejected = o.status();
      return out;
    }
    absl::StatusOr<sim::OpResult> r = lab_->Apply(*o);
    if (!r.ok()) {
      out.rejected = r.status();
      return out;
    }
    convert::OpResultToProto(*r, &out.result);
    return out;
  }

  absl::StatusOr<LabFacts> Facts() override {
    LabFacts f;
    f.digest = lab_->digest();
    f.ops = lab_->trace().size();
    f.now_ns = lab_->now();
    for (const sim::Violation& v : lab_->violations()) {
      convert::ViolationToProto(v, f.violations.add_violations());
    }
    for (int i = 1; i <= sim::kViolationCount; ++i) {
      const auto id = static_cast<sim::ViolationId>(i);
      if (const uint64_t n = lab_->violation_count(id); n != 0) {
        (*f.violations.mutable_counts())[std::string(sim::CatalogOf(id).code)] = n;
      }
    }
    for (const sim::PoolInfo& p : lab_->AllPools()) {
      convert::PoolInfoToProto(p, &f.pools.emplace_back());
    }
    for (const sim::FaultSiteInfo& site : sim::FaultSites()) {
      f.faults_injected[std::string(site.name)] = lab_->faults_injected(site.site);
    }
    f.faults_known = true;
    return f;
  }

  absl::StatusOr<BatchApplied> ApplyBatch(absl::Span<const v1::Op> ops) override {
    BatchApplied out;
    out.results.reserve(ops.size());
    for (size_t i = 0; i < ops.size(); ++i) {
      absl::StatusOr<Applied> a = Apply(ops[i]);
      if (!a.ok()) return a.status();
      if (!a->rejected.ok()) {
        out.rejected_index = static_cast<int>(i);
        out.rejected = a->rejected;
        break;
      }
      out.results.push_back(std::move(a->result));
    }
    out.now_ns = lab_->now();
    return out;
  }

  absl::StatusOr<std::vector<v1::PoolInfo>> Pools() override {
    std::vector<v1::PoolInfo> out;
    for (const sim::PoolInfo& p : lab_->AllPools()) {
      convert::PoolInfoToProto(p, &out.emplace_back());
    }
    return out;
  }

 private:
  std::unique_ptr<sim::Lab> lab_;
};

class Embedded final : public LabTarget {
 public:
  absl::StatusOr<std::unique_ptr<LabSession>> NewLab(const std::string& /*name*/,
                                                     const v1::LabConfig& config) override {
    absl::StatusOr<sim::LabConfig> c = convert::LabConfigFromProto(config);
    if (!c.ok()) return c.status();
    absl::StatusOr<std::unique_ptr<sim::Lab>> lab = sim::Lab::Create(*c);
    if (!lab.ok()) return lab.status();
    return std::make_unique<EmbeddedSession>(*std::move(lab));
  }
  std::string Address() const override { return ""; }
};

class Shared final : public LabSession {
 public:
  explicit Shared(LabSession* inner) : inner_(inner) {}
  absl::StatusOr<Applied> Apply(const v1::Op& op) override {
    std::lock_guard<std::mutex> l(mu_);
    return inner_->Apply(op);
  }
  absl::StatusOr<LabFacts> Facts() override {
    std::lock_guard<std::mutex> l(mu_);
    return inner_->Facts();
  }
  absl::StatusOr<BatchApplied> ApplyBatch(absl::Span<const v1::Op> ops) override {
    std::lock_guard<std::mutex> l(mu_);
    return inner_->ApplyBatch(ops);
  }
  absl::StatusOr<std::vector<v1::PoolInfo>> Pools() override {
    std::lock_guard<std::mutex> l(mu_);
    return inner_->Pools();
  }

 private:
  std::mutex mu_;
  LabSession* inner_;
};

}  // namespace

std::unique_ptr<LabSession> SharedSession(LabSession* inner) {
  return std::make_unique<Shared>(inner);
}

std::unique_ptr<LabTarget> EmbeddedTarget() { return std::make_unique<Embedded>(); }

}  // namespace ppsim::chaos
