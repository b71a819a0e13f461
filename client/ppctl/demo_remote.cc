// The demo's lab on ppsimd, through client/lib: one Apply per op, facts from the query API.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/ppctl/demo_lab.h"

namespace ppsim::ppctl {

namespace {

class RemoteLab final : public DemoLab {
 public:
  RemoteLab(client::Client* c, uint64_t id, bool keep) : c_(c), id_(id), keep_(keep) {}
  ~RemoteLab() override {
    if (!keep_) (void)c_->DeleteLab(id_);
  }

  absl::StatusOr<v1::OpResult> Apply(const v1::Op& op) override {
    absl::StatusOr<v1::ApplyResponse> r = c_->Apply(id_, {op});
    if (!r.ok()) return r.status();
    if (absl::Status s = client::ApplyStatus(*r); !s.ok()) return s;
    if (r->results_size() != 1) {
      return absl::InternalError(
          absl::StrCat("Apply of one op returned ", r->results_size(), " results"));
    }
    return r->results(0);
  }

  absl::StatusOr<StoryFacts> Facts(uint32_t pool, uint32_t /*device: no device query*/) override {
    StoryFacts out;
    absl::StatusOr<v1::ListViolationsResponse> v = c_->ListViolations(id_);
    if (!v.ok()) return v.status();
    for (const auto& [id, n] : v->counts()) {
      if (n != 0) out.violations[id] = n;
    }
    for (const v1::Violation& x : v->violations()) {
      if (x.severity() == v1::SEVERITY_CRASH) {
        out.first_crash = x.explanation().empty() ? x.message() : x.explanation();
        break;
      }
    }
    if (absl::StatusOr<v1::PoolInfo> p = c_->GetPool(id_, pool); p.ok()) {
      out.lock_hold_s = p->costs().max_lock_hold_ns() / 1e9;
    }
    absl::StatusOr<v1::LabInfo> info = c_->GetLab(id_);
    if (!info.ok()) return info.status();
    out.digest = info->digest();
    return out;
  }

  std::string Id() const override { return absl::StrCat(id_); }

 private:
  client::Client* c_;
  uint64_t id_;
  bool keep_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<DemoLab>> NewRemoteLab(client::Client* client,
                                                      const std::string& name,
                                                      const v1::LabConfig& config, bool keep) {
  absl::StatusOr<uint64_t> id = client->CreateLab(name, config);
  if (!id.ok()) return id.status();
  return std::make_unique<RemoteLab>(client, *id, keep);
}

}  // namespace ppsim::ppctl
