#include "server/service/lab_service.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/convert/info_convert.h"
#include "server/convert/trace_jsonl.h"
#include "server/service/paging.h"
#include "server/service/status.h"
#include "server/service/trace_exporter.h"
#include "spdlog/spdlog.h"

namespace ppsim::service {

namespace {

constexpr char kExportTrace[] = "ppsim.v1.LabService/ExportTrace";

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
  ServerStreaming("ppsim.v1.LabService/ExportTrace",
                  [this, observer](grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* req) {
                    return OnExportTrace(ctx, *req, RpcScope(observer, kExportTrace));
                  });
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
                                        const v1::ListLabsRequest& req,
                                        v1::ListLabsResponse* resp) {
  absl::StatusOr<Identity> who = auth_.Authenticate(*ctx);
  if (!who.ok()) return who.status();
  absl::StatusOr<Page> page =
      Page::Start("labs", 1, req.page_size(), req.page_token(), max_message_bytes_);
  if (!page.ok()) return page.status();
  // Ids only grow and List() is in id order: the token is the first id not yet shown.
  for (const std::shared_ptr<LabEntry>& e : labs_->List()) {
    if (e->id < page->at(0) || !CheckOwner(*who, *e).ok()) continue;
    v1::LabInfo info = LabRegistry::Info(*e);
    if (!page->Fits(info.ByteSizeLong())) {
      resp->set_next_page_token(page->Next({e->id}));
      break;
    }
    *resp->add_labs() = std::move(info);
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

grpc::ServerWriteReactor<grpc::ByteBuffer>* LabServiceImpl::OnExportTrace(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer& bytes, RpcScope rpc) {
  // A chunk of at most 1 MiB, and at most a quarter of the message limit: one op's line (a few
  // hundred bytes) over it still leaves the message far below the limit.
  const size_t chunk = std::min<size_t>(1 << 20, static_cast<size_t>(max_message_bytes_) / 4);
  const auto refuse = [&](const absl::Status& s) {
    return new TraceExporter(nullptr, chunk, rpc, ToGrpc(s));
  };
  v1::ExportTraceRequest req;
  if (absl::Status s = ParseRequest(bytes, &req); !s.ok()) return refuse(s);
  absl::StatusOr<Identity> who = auth_.Authenticate(*ctx);
  if (!who.ok()) return refuse(who.status());
  absl::StatusOr<std::shared_ptr<LabEntry>> e = OwnedLab(*labs_, *who, req.lab());
  if (!e.ok()) return refuse(e.status());
  return new TraceExporter(*std::move(e), chunk, rpc, grpc::Status::OK);
}

absl::Status LabServiceImpl::OnReplayTrace(grpc::CallbackServerContext* ctx,
                                           const v1::ReplayTraceRequest& req,
                                           v1::ReplayTraceResponse* resp) {
  absl::StatusOr<Identity> who = auth_.Authenticate(*ctx);
  if (!who.ok()) return who.status();
  return DoReplayTrace(quota_, req, resp);
}

}  // namespace ppsim::service
