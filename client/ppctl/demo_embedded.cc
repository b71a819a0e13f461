// The demo's embedded lab: server/sim in this process, ops converted by the daemon's own
// proto conversion (server/convert/op_convert.h), so both backends apply the same ops.
#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "client/ppctl/demo_lab.h"
#include "server/convert/info_convert.h"
#include "server/convert/op_convert.h"
#include "server/sim/lab.h"

namespace ppsim::ppctl {

namespace {

class EmbeddedLab final : public DemoLab {
 public:
  explicit EmbeddedLab(std::unique_ptr<sim::Lab> lab) : lab_(std::move(lab)) {}

  absl::StatusOr<v1::OpResult> Apply(const v1::Op& op) override {
    absl::StatusOr<sim::Op> o = convert::OpFromProto(op);
    if (!o.ok()) return o.status();
    absl::StatusOr<sim::OpResult> r = lab_->Apply(*o);
    if (!r.ok()) return r.status();
    v1::OpResult out;
    convert::OpResultToProto(*r, &out);
    return out;
  }

  absl::StatusOr<StoryFacts> Facts(uint32_t pool, uint32_t device) override {
    StoryFacts out;
    for (const sim::Violation& v : lab_->violations()) {
      ++out.violations[std::string(v.code())];
      if (out.first_crash.empty() && v.severity == sim::Severity::kCrash) {
        out.first_crash = v.Explain();
      }
    }
    if (absl::StatusOr<sim::PoolInfo> p = lab_->GetPool(pool); p.ok()) {
      out.lock_hold_s = p->costs.max_lock_hold_ns / 1e9;
    }
    if (absl::StatusOr<sim::DeviceInfo> d = lab_->GetDevice(device); d.ok()) {
      out.removal_s = d->removal_latency / 1e9;
    }
    for (const sim::Event& e : lab_->TakeEvents()) {
      if (e.kind == sim::EventKind::kKernelLog) {
        out.kernel_log.push_back(absl::StrFormat("[%10.6f] %s", e.time / 1e9, e.text));
      }
    }
    out.digest = lab_->digest();
    return out;
  }

  std::string Id() const override { return ""; }

 private:
  std::unique_ptr<sim::Lab> lab_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<DemoLab>> NewEmbeddedLab(const v1::LabConfig& config) {
  absl::StatusOr<sim::LabConfig> cfg = convert::LabConfigFromProto(config);
  if (!cfg.ok()) return cfg.status();
  absl::StatusOr<std::unique_ptr<sim::Lab>> lab = sim::Lab::Create(*cfg);
  if (!lab.ok()) return lab.status();
  return std::make_unique<EmbeddedLab>(*std::move(lab));
}

}  // namespace ppsim::ppctl
