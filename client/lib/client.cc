#include "client/lib/client.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/client_interceptor.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
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

// Every page of a list RPC (service.proto: paging): `call(ctx, req, out)` with each page's token
// in turn, each reply to `take`.
template <class Response, class Request, class Context, class Call, class Take>
absl::Status EachPage(Context context, Request req, Call call, Take take) {
  do {
    absl::StatusOr<Response> r = Unary<Response>(
        context(), [&](grpc::ClientContext* ctx, Response* out) { return call(ctx, req, out); });
    if (!r.ok()) return r.status();
    take(*r);
    req.set_page_token(r->next_page_token());
  } while (!req.page_token().empty());
  return absl::OkStatus();
}

// Adds the bearer token to every call's metadata. An interceptor rather than call credentials:
// gRPC sends call credentials only over TLS, and ppsimd also takes tokens on plaintext
// loopback (a dev setup).
class TokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit TokenInterceptor(const std::string* header) : header_(header) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", *header_);
    }
    methods->Proceed();
  }

 private:
  const std::string* header_;
};

class TokenInterceptorFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit TokenInterceptorFactory(const std::string& token)
      : header_(absl::StrCat("Bearer ", token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new TokenInterceptor(&header_);
  }

 private:
  const std::string header_;  // lives as long as the channel, which owns the factory
};

absl::StatusOr<std::string> ReadPem(absl::string_view option, const std::string& path) {
  std::ifstream f(path);
  if (!f) return absl::InvalidArgumentError(absl::StrCat(option, ": cannot read \"", path, "\""));
  std::stringstream text;
  text << f.rdbuf();
  return text.str();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(
    const Client::Options& o) {
  if (!o.UsesTls()) return grpc::InsecureChannelCredentials();
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return absl::InvalidArgumentError(o.tls_cert.empty() ? "tls-key: given without tls-cert"
                                                         : "tls-cert: given without tls-key");
  }
  grpc::SslCredentialsOptions ssl;
  if (!o.tls_ca.empty()) {
    absl::StatusOr<std::string> ca = ReadPem("tls-ca", o.tls_ca);
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *std::move(ca);
  }
  if (!o.tls_cert.empty()) {
    absl::StatusOr<std::string> cert = ReadPem("tls-cert", o.tls_cert);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem("tls-key", o.tls_key);
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  return grpc::SslCredentials(ssl);
}

}  // namespace

Client::Options Client::Options::FromEnvironment() {
  Options o;
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v != nullptr ? v : "");
  };
  o.token = env("PPSIM_TOKEN");
  o.tls_ca = env("PPSIM_TLS_CA");
  o.tls_cert = env("PPSIM_TLS_CERT");
  o.tls_key = env("PPSIM_TLS_KEY");
  return o;
}

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const std::string& target,
                                                        absl::Duration timeout) {
  return Connect(target, timeout, Options::FromEnvironment());
}

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const std::string& target,
                                                        absl::Duration timeout,
                                                        const Options& options) {
  if (target.empty()) return absl::InvalidArgumentError("target: empty (expected host:port)");
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds = MakeCredentials(options);
  if (!creds.ok()) return creds.status();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  if (!options.tls_server_name.empty()) args.SetSslTargetNameOverride(options.tls_server_name);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  if (!options.token.empty()) {
    interceptors.push_back(std::make_unique<TokenInterceptorFactory>(options.token));
  }
  std::shared_ptr<grpc::Channel> channel = grpc::experimental::CreateCustomChannelWithInterceptors(
      target, *creds, args, std::move(interceptors));
  const char* hint = options.UsesTls()
                         ? "connection or TLS handshake failed: is ppsimd serving TLS there, with "
                           "a certificate the CA (--tls-ca) signed for this host?"
                         : "connection failed: is ppsimd running there, and without TLS?";
  const auto deadline = absl::ToChronoTime(absl::Now() + timeout);
  for (grpc_connectivity_state state = channel->GetState(/*try_to_connect=*/true);
       state != GRPC_CHANNEL_READY; state = channel->GetState(/*try_to_connect=*/true)) {
    if (state == GRPC_CHANNEL_SHUTDOWN ||
        (state == GRPC_CHANNEL_TRANSIENT_FAILURE && !options.wait_for_ready)) {
      return absl::UnavailableError(
          absl::StrCat("cannot reach ppsimd at ", target, " (", hint, ")"));
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
  std::vector<v1::LabInfo> labs;
  absl::Status s = EachPage<v1::ListLabsResponse>(
      [this] { return UnaryContext(); }, v1::ListLabsRequest(),
      [this](auto* ctx, const auto& req, auto* out) { return labs_->ListLabs(ctx, req, out); },
      [&](const v1::ListLabsResponse& r) {
        labs.insert(labs.end(), r.labs().begin(), r.labs().end());
      });
  if (!s.ok()) return s;
  return labs;
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
  std::unique_ptr<grpc::ClientContext> ctx = UnaryContext();
  std::unique_ptr<grpc::ClientReader<v1::ExportTraceResponse>> reader =
      labs_->ExportTrace(ctx.get(), req);
  // The first message has the config, digest and op count; the rest only lines.
  v1::ExportTraceResponse out;
  v1::ExportTraceResponse chunk;
  bool first = true;
  while (reader->Read(&chunk)) {
    if (first) {
      out = std::move(chunk);
      first = false;
    } else {
      out.mutable_jsonl()->append(chunk.jsonl());
    }
    chunk.Clear();
  }
  if (grpc::Status s = reader->Finish(); !s.ok()) return FromGrpc(s);
  if (first) return absl::DataLossError("ExportTrace: the stream ended OK with no message");
  return out;
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

absl::StatusOr<v1::ApplyResponse> Client::Apply(uint64_t lab, absl::Span<const v1::Op> ops,
                                                const std::string& request_id) {
  v1::ApplyRequest req;
  req.set_lab(lab);
  req.set_request_id(request_id);
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
  std::vector<v1::PoolInfo> pools;
  absl::Status s = EachPage<v1::ListPoolsResponse>(
      [this] { return UnaryContext(); }, req,
      [this](auto* ctx, const auto& r, auto* out) { return query_->ListPools(ctx, r, out); },
      [&](const v1::ListPoolsResponse& r) {
        pools.insert(pools.end(), r.pools().begin(), r.pools().end());
      });
  if (!s.ok()) return s;
  return pools;
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
  v1::ListViolationsResponse all;
  absl::Status s = EachPage<v1::ListViolationsResponse>(
      [this] { return UnaryContext(); }, req,
      [this](auto* ctx, const auto& r, auto* out) { return query_->ListViolations(ctx, r, out); },
      [&](const v1::ListViolationsResponse& r) {  // the counts are the same in every page
        all.mutable_violations()->MergeFrom(r.violations());
        *all.mutable_counts() = r.counts();
      });
  if (!s.ok()) return s;
  return all;
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
