#include "server/service/lab_service.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/convert/info_convert.h"
#include "server/convert/trace_jsonl.h"
#include "spdlog/spdlog.h"

namespace ppsim::service {

namespace {

// A lab name is shown in logs, metrics labels, ppctl tables and the journal; it comes back
// byte for byte only if it is text. protobuf has already checked that it is UTF-8.
constexpr size_t kMaxLabNameBytes = 256;
absl::Status ValidateLabName(const std::string& name) {
  if (name.size() > kMaxLabNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat("name: ", name.size(), " bytes; a lab name has at most ",
                                                   kMaxLabNameBytes));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    const bool c0 = c < 0x20 || c == 0x7f;
    const bool c1 = c == 0xc2 && i + 1 < name.size() &&
                    static_cast<unsigned char>(name[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(name[i + 1]) <= 0x9f;
    if (c0 || c1) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "name: byte %d is a control character (U+%04X); a lab name is printable text", i,
          c1 ? static_cast<unsigned char>(name[i + 1]) : c));
    }
  }
  return absl::OkStatus();
}

absl::Status DoCreateLab(LabRegistry& labs, Quota& quota, const Identity& who,
                         const v1::CreateLabRequest& req, v1::LabInfo* resp) {
  if (absl::Status s = ValidateLabName(req.name()); !s.ok()) return s;
  absl::StatusOr<sim::LabConfig> config = convert::LabConfigFromProto(req.config());
  if (!config.ok()) return config.status();
  if (absl::Status s = quota.ReserveLab(who, config->ram_bytes); !s.ok()) return s;
  // The config is already validated; Create's errors name a config field all the same.
  absl::StatusOr<std::shared_ptr<LabEntry>> e = labs.Create(req.name(), *config, who.name);
  if (!e.ok()) {
    quota.CancelLab(who);
    return absl::Status(e.status().code(), absl::StrCat("config.", e.status().message()));
  }
  quota.AddLab(who, (*e)->id);
  *resp = LabRegistry::Info(**e);
  spdlog::info("lab {} created by {}: name={} profile={} strategy={} ram_bytes={} seed={}",
               resp->id(), who.Display(), resp->name(), resp->config().profile(),
               resp->config().default_strategy().empty() ? "(the profile's)"
                                                         : resp->config().default_strategy(),
               resp->config().ram_bytes(), resp->config().seed());
  return absl::OkStatus();
}

absl::Status DoExportTrace(const LabRegistry& labs, const Identity& who, int max_message_bytes,
                           const v1::ExportTraceRequest& req, v1::ExportTraceResponse* resp) {
  absl::StatusOr<std::shared_ptr<LabEntry>> e = OwnedLab(labs, who, req.lab());
  if (!e.ok()) return e.status();
  {
    absl::MutexLock lock(&(*e)->mu);
    const sim::Lab& lab = *(*e)->lab;
    *resp->mutable_config() = convert::LabConfigToProto(lab.config());
    resp->set_jsonl(convert::TraceToJsonl(lab.trace()));
    resp->set_digest(lab.digest());
    resp->set_ops(lab.trace().size());
  }
  // Fail with a reason instead of letting the transport reject the reply with a bare
  // "message larger than max".
  if (resp->jsonl().size() > static_cast<size_t>(max_message_bytes) - 4096) {
    const std::string msg =
        absl::StrCat("lab: lab ", req.lab(), " has a trace of ", resp->ops(), " ops (",
                     resp->jsonl().size(), " bytes of JSON lines), over the ", max_message_bytes,
                     "-byte message limit (--max-message-bytes)");
    resp->Clear();
    return absl::ResourceExhaustedError(msg);
  }
  return absl::OkStatus();
}

absl::Status DoReplayTrace(Quota& quota, const v1::ReplayTraceRequest& req,
                           v1::ReplayTraceResponse* resp) {
  absl::StatusOr<sim::LabConfig> config = convert::LabConfigFromProto(req.config());
  if (!config.ok()) return config.status();
  if (absl::Status s = quota.CheckScratchLab(config->ram_bytes); !s.ok()) return s;
  absl::StatusOr<std::vector<sim::Op>> ops = convert::TraceFromJsonl(req.jsonl());
  if (!ops.ok()) return ops.status();
  absl::StatusOr<sim::ReplayResult> r =
      sim::Replay(*config, *ops, req.expected_digest(),
                  [&quota](const sim::Lab& lab, size_t) { return quota.ChargeScratchOp(lab); });
  if (!r.ok()) return r.status();
  resp->set_digest(r->digest);
  resp->set_ops(r->ops);
  resp->set_matches(r->matches);
  return absl::OkStatus();
}

}  // namespace

LabServiceImpl::LabServiceImpl(LabRegistry* labs, RpcObserver* observer,
                               const CallPolicy& policy)
    : labs_(labs), auth_(*policy.auth), quota_(*policy.quota),
      max_message_bytes_(policy.max_message_bytes) {
  Unary("ppsim.v1.LabService/CreateLab", observer, &LabServiceImpl::OnCreateLab);
  Unary("ppsim.v1.LabService/DeleteLab", observer, &LabServiceImpl::OnDeleteLab);
  Unary("ppsim.v1.LabService/ListLabs", observer, &LabServiceImpl::OnListLabs);
  Unary("ppsim.v1.LabService/GetLab", observer, &LabServiceImpl::OnGetLab);
  Unary("ppsim.v1.LabService/ExportTrace", observer, &LabServiceImpl::OnExportTrace);
  Unary("ppsim.v1.LabService/ReplayTrace", observer, &LabServiceImpl::OnReplayTrace);
}

absl::Status LabServiceImpl::OnCreateLab(grpc::CallbackServerContext* ctx,
                                         const v1::CreateLabRequest& req, v1::LabInfo* resp) {
  absl::StatusOr<Identity> who = auth_.Authenticate(*ctx);
  if (!who.ok()) return who.status();
  return DoCreateLab(*labs_, quota_, *who, req, resp);
}

absl::Status LabServiceImpl::OnDeleteLab(grpc::CallbackServerContext* ctx,
                                         const v1::DeleteLabRequest& req, v1::DeleteLabResponse*) {
  absl::StatusOr<Identity> who = auth_.Authenticate(*ctx);
  if (!who.ok()) return who.status();
  // An unknown or deleted lab is left to Delete, whose message says "already deleted".
  if (absl::StatusOr<std::shared_ptr<LabEntry>> e = labs_->Get(req.lab()); e.ok()) {
    if (absl::Status s = CheckOwner(*who, **e); !s.ok()) return s;
  }
  absl::Status s = labs_->Delete(req.lab());
  if (s.ok()) {
    quota_.RemoveLab(req.lab());
    spdlog::info("lab {} deleted by {}", req.lab(), who->Display());
  }
  return s;
}

absl::Status LabServiceImpl::OnListLabs(grpc::CallbackServerContext* ctx,
                                        const v1::ListLabsRequest&, v1::ListLabsResponse* resp) {
  absl::StatusOr<Identity> who = auth_.Authenticate(*ctx);
  if (!who.ok()) return who.status();
  for (const std::shared_ptr<LabEntry>& e : labs_->List()) {
    if (CheckOwner(*who, *e).ok()) *resp->add_labs() = LabRegistry::Info(*e);
  }
  return absl::OkStatus();
}

absl::Status LabServiceImpl::OnGetLab(grpc::CallbackServerContext* ctx,
                                      const v1::GetLabRequest& req, v1::LabInfo* resp) {
  absl::StatusOr<Identity> who = auth_.Authenticate(*ctx);
  if (!who.ok()) return who.status();
  absl::StatusOr<std::shared_ptr<LabEntry>> e = OwnedLab(*labs_, *who, req.lab());
  if (e.ok()) *resp = LabRegistry::Info(**e);
  return e.status();
}

absl::Status LabServiceImpl::OnExportTrace(grpc::CallbackServerContext* ctx,
                                           const v1::ExportTraceRequest& req,
                                           v1::ExportTraceResponse* resp) {
  absl::StatusOr<Identity> who = auth_.Authenticate(*ctx);
  if (!who.ok()) return who.status();
  return DoExportTrace(*labs_, *who, max_message_bytes_, req, resp);
}

absl::Status LabServiceImpl::OnReplayTrace(grpc::CallbackServerContext* ctx,
                                           const v1::ReplayTraceRequest& req,
                                           v1::ReplayTraceResponse* resp) {
  absl::StatusOr<Identity> who = auth_.Authenticate(*ctx);
  if (!who.ok()) return who.status();
  return DoReplayTrace(quota_, req, resp);
}

}  // namespace ppsim::service
