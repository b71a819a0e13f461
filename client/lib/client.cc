#include "client/lib/client.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace ppsim::client {

namespace {

// Traces and violation dumps of big labs outgrow gRPC's 4 MiB default.
constexpr int kMaxReceiveBytes = 256 << 20;

// Runs one unary call and converts its status.
template <class Response, class Call>
absl::StatusOr<Response> Unary(std::unique_ptr<grpc::ClientContext> ctx, Call call) {
  Response out;
  grpc::Status s = call(ctx.get(), &out);
  if (!s.ok()) return FromGrpc(s);
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const std::string& target,
                                                        absl::Duration timeout) {
  return Connect(target, timeout, Options{});
}

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const std::string& target,
                                                        absl::Duration timeout,
                                                        const Options& options) {
  if (target.empty()) return absl::InvalidArgumentError("target: empty (expected host:port)");
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  const auto deadline = absl::ToChronoTime(absl::Now() + timeout);
  for (grpc_connectivity_state state = channel->GetState(/*try_to_connect=*/true);
       state != GRPC_CHANNEL_READY; state = channel->GetState(/*try_to_connect=*/true)) {
    if (state == GRPC_CHANNEL_SHUTDOWN ||
        (state == GRPC_CHANNEL_TRANSIENT_FAILURE && !options.wait_for_ready)) {
      return absl::UnavailableError(absl::StrCat("cannot reach ppsimd at ", target,
                                                 " (connection failed: is ppsimd running there?)"));
    }
    if (!channel->WaitForStateChange(state, deadline)) {
      return absl::UnavailableError(absl::StrCat("cannot reach ppsimd at ", target,
                                                 " (no connection within ",
                                                 absl::FormatDuration(timeout), ")"));
    }
  }
  return std::unique_ptr<Client>(new Client(target, std::move(channel), options));
}

Client::Client(std::string target, std::shared_ptr<grpc::Channel> channel, const Options& options)
    : target_(std::move(target)),
      options_(options),
      channel_(std::move(channel)),
      labs_(v1::LabService::NewStub(channel_)),
      ops_(v1::OpsService::NewStub(channel_)),
      query_(v1::QueryService::NewStub(channel_)),
      faults_(v1::FaultService::NewStub(channel_)) {}

std::unique_ptr<grpc::ClientContext> Client::UnaryContext() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + options_.rpc_timeout));
  return ctx;
}

absl::StatusOr<uint64_t> Client::CreateLab(const std::string& name, const v1::LabConfig& config) {
  v1::CreateLabRequest req;
  req.set_name(name);
  *req.mutable_config() = config;
  absl::StatusOr<v1::LabInfo> info = Unary<v1::LabInfo>(
      UnaryContext(), [&](auto* ctx, auto* out) { return labs_->CreateLab(ctx, req, out); });
  if (!info.ok()) return info.status();
  return info->id();
}

absl::Status Client::DeleteLab(uint64_t lab) {
  v1::DeleteLabRequest req;
  req.set_lab(lab);
  return Unary<v1::DeleteLabResponse>(
             UnaryContext(), [&](auto* ctx, auto* out) { return labs_->DeleteLab(ctx, req, out); })
      .status();
}

absl::StatusOr<std::vector<v1::LabInfo>> Client::ListLabs() {
  absl::StatusOr<v1::ListLabsResponse> r = Unary<v1::ListLabsResponse>(
      UnaryContext(),
      [&](auto* ctx, auto* out) { return labs_->ListLabs(ctx, v1::ListLabsRequest(), out); });
  if (!r.ok()) return r.status();
  return std::vector<v1::LabInfo>(r->labs().begin(), r->labs().end());
}

absl::StatusOr<v1::LabInfo> Client::GetLab(uint64_t lab) {
  v1::GetLabRequest req;
  req.set_lab(lab);
  return Unary<v1::LabInfo>(UnaryContext(),
                            [&](auto* ctx, auto* out) { return labs_->GetLab(ctx, req, out); });
}

absl::StatusOr<v1::ExportTraceResponse> Client::ExportTrace(uint64_t lab) {
  v1::ExportTraceRequest req;
  req.set_lab(lab);
  return Unary<v1::ExportTraceResponse>(
      UnaryContext(), [&](auto* ctx, auto* out) { return labs_->ExportTrace(ctx, req, out); });
}

absl::StatusOr<v1::ReplayTraceResponse> Client::ReplayTrace(const v1::LabConfig& config,
                                                            const std::string& jsonl,
                                                            uint64_t expected_digest) {
  v1::ReplayTraceRequest req;
  *req.mutable_config() = config;
  req.set_jsonl(jsonl);
  req.set_expected_digest(expected_digest);
  return Unary<v1::ReplayTraceResponse>(
      UnaryContext(), [&](auto* ctx, auto* out) { return labs_->ReplayTrace(ctx, req, out); });
}

absl::StatusOr<v1::ApplyResponse> Client::Apply(uint64_t lab, absl::Span<const v1::Op> ops) {
  v1::ApplyRequest req;
  req.set_lab(lab);
  req.mutable_ops()->Reserve(static_cast<int>(ops.size()));
  for (const v1::Op& op : ops) *req.add_ops() = op;
  return Unary<v1::ApplyResponse>(UnaryContext(),
                                  [&](auto* ctx, auto* out) { return ops_->Apply(ctx, req, out); });
}

absl::StatusOr<std::unique_ptr<OpStream>> Client::OpenStream() {
  return std::make_unique<OpStream>(ops_.get());
}

absl::StatusOr<v1::PoolInfo> Client::GetPool(uint64_t lab, uint32_t pool) {
  v1::GetPoolRequest req;
  req.set_lab(lab);
  req.set_pool(pool);
  return Unary<v1::PoolInfo>(UnaryContext(),
                             [&](auto* ctx, auto* out) { return query_->GetPool(ctx, req, out); });
}

absl::StatusOr<std::vector<v1::PoolInfo>> Client::ListPools(uint64_t lab, bool all) {
  v1::ListPoolsRequest req;
  req.set_lab(lab);
  req.set_all(all);
  absl::StatusOr<v1::ListPoolsResponse> r = Unary<v1::ListPoolsResponse>(
      UnaryContext(), [&](auto* ctx, auto* out) { return query_->ListPools(ctx, req, out); });
  if (!r.ok()) return r.status();
  return std::vector<v1::PoolInfo>(r->pools().begin(), r->pools().end());
}

absl::StatusOr<v1::PageInfo> Client::GetPage(uint64_t lab, uint64_t pfn) {
  v1::GetPageRequest req;
  req.set_lab(lab);
  req.set_pfn(pfn);
  return Unary<v1::PageInfo>(UnaryContext(),
                             [&](auto* ctx, auto* out) { return query_->GetPage(ctx, req, out); });
}

absl::StatusOr<v1::ListViolationsResponse> Client::ListViolations(uint64_t lab,
                                                                  const std::string& id,
                                                                  uint32_t limit) {
  v1::ListViolationsRequest req;
  req.set_lab(lab);
  req.set_id(id);
  req.set_limit(limit);
  return Unary<v1::ListViolationsResponse>(
      UnaryContext(), [&](auto* ctx, auto* out) { return query_->ListViolations(ctx, req, out); });
}

absl::StatusOr<std::unique_ptr<WatchStream>> Client::Watch(uint64_t lab,
                                                           std::vector<v1::EventKind> kinds,
                                                           WatchStream::Callback on_event) {
  if (!on_event) return absl::InvalidArgumentError("watch: no callback");
  v1::WatchRequest req;
  req.set_lab(lab);
  for (v1::EventKind k : kinds) req.add_kinds(k);
  return std::make_unique<WatchStream>(query_.get(), req, std::move(on_event));
}

absl::Status Client::SetFault(uint64_t lab, const v1::SetFault& fault) {
  v1::SetFaultRequest req;
  req.set_lab(lab);
  *req.mutable_fault() = fault;
  return Unary<v1::SetFaultResponse>(
             UnaryContext(), [&](auto* ctx, auto* out) { return faults_->SetFault(ctx, req, out); })
      .status();
}

absl::Status Client::ClearFaults(uint64_t lab, const std::string& site) {
  v1::ClearFaultsRequest req;
  req.set_lab(lab);
  req.set_site(site);
  return Unary<v1::ClearFaultsResponse>(
             UnaryContext(),
             [&](auto* ctx, auto* out) { return faults_->ClearFaults(ctx, req, out); })
      .status();
}

}  // namespace ppsim::client
