// Every ppsim method is registered raw (bytes in, bytes out) and parses its own request, so
// that bytes which are not a message of the method's type get INVALID_ARGUMENT naming the type
// (docs/design.md §4), are counted in ppsim_rpc_handling_seconds and change nothing.
//
// Why: registered typed, gRPC 1.51's callback API parses the request before any ppsim code runs
// and answers a parse failure with UNIMPLEMENTED and an empty message
// (grpcpp/impl/codegen/server_callback_handlers.h, CallbackUnaryHandler::RunHandler: "if
// deserialization or reactor creator failed" → UnimplementedUnaryReactor; the same for
// server-streaming calls). A driver engineer whose client sent a truncated batch would be told
// the method does not exist. On a bidirectional stream a message that does not parse reaches
// the reactor as OnReadDone(false), which cannot be told from the client's half-close, so the
// stream ended OK.
//
// The generated WithRawCallbackMethod_* classes register one method each, by index; RawService
// does it by name for a whole service, through grpc::Service::MarkMethodRawCallback, the call
// they make. A method left unregistered keeps the generated UNIMPLEMENTED handler.
#ifndef PPSIM_SERVER_SERVICE_RAW_METHOD_H_
#define PPSIM_SERVER_SERVICE_RAW_METHOD_H_

#include <google/protobuf/message.h>
#include <grpcpp/impl/codegen/server_callback_handlers.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include <functional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/service/rpc_observer.h"
#include "server/service/rpc_scope.h"

namespace ppsim::service {

// Parses `in` into `req`; INVALID_ARGUMENT "request: N bytes are not a ppsim.v1.X …" if they
// are not one (truncated, a bad tag or wire type, a string that is not UTF-8). `req` is
// unspecified after a failure.
absl::Status ParseRequest(const grpc::ByteBuffer& in, google::protobuf::Message* req);

// Serializes `resp` into `out`, replacing what `out` held.
void SerializeResponse(const google::protobuf::Message& resp, grpc::ByteBuffer* out);

// gRPC's index of `full_method` ("ppsim.v1.OpsService/Apply") in its service: the method's
// index in the service descriptor, which is the order the generated code adds methods in.
// Aborts on a name that is not a method: that is a typo in ppsim, found at startup.
int MethodIndex(absl::string_view full_method);

// `Generated` is the generated v1::X::CallbackService; the derived service registers each of
// its methods in its constructor.
template <class Generated>
class RawService : public Generated {
 protected:
  // A unary method served by `fn`, a member of the derived class `Impl`: it runs with the
  // parsed request and fills the response, which is sent only if it returns OK. The RPC is
  // timed and counted under `full_method` (rpc_scope.h), parse failures included.
  template <class Impl, class Req, class Resp>
  void Unary(const char* full_method, RpcObserver* observer,
             absl::Status (Impl::*fn)(grpc::CallbackServerContext*, const Req&, Resp*)) {
    Impl* self = static_cast<Impl*>(this);
    this->MarkMethodRawCallback(
        MethodIndex(full_method),
        new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer, grpc::ByteBuffer>(
            [self, fn, full_method, observer](grpc::CallbackServerContext* ctx,
                                             const grpc::ByteBuffer* in, grpc::ByteBuffer* out) {
              RpcScope rpc(observer, full_method);
              Req req;
              absl::Status s = ParseRequest(*in, &req);
              if (s.ok()) {
                Resp resp;
                s = (self->*fn)(ctx, req, &resp);
                if (s.ok()) SerializeResponse(resp, out);
              }
              return rpc.Finish(ctx, s);
            }));
  }

  // A server-streaming method: `make` gets the request's bytes (ParseRequest them).
  void ServerStreaming(
      const char* full_method,
      std::function<grpc::ServerWriteReactor<grpc::ByteBuffer>*(grpc::CallbackServerContext*,
                                                                const grpc::ByteBuffer*)>
          make) {
    this->MarkMethodRawCallback(
        MethodIndex(full_method),
        new grpc::internal::CallbackServerStreamingHandler<grpc::ByteBuffer, grpc::ByteBuffer>(
            std::move(make)));
  }

  // A bidirectional-streaming method: the reactor parses each message it reads.
  void Bidi(const char* full_method,
            std::function<grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>*(
                grpc::CallbackServerContext*)>
                make) {
    this->MarkMethodRawCallback(
        MethodIndex(full_method),
        new grpc::internal::CallbackBidiHandler<grpc::ByteBuffer, grpc::ByteBuffer>(
            std::move(make)));
  }
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_RAW_METHOD_H_
