#include "server/service/raw_method.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "spdlog/spdlog.h"

namespace ppsim::service {

absl::Status ParseRequest(const grpc::ByteBuffer& in, google::protobuf::Message* req) {
  // Deserialize consumes its buffer; the copy shares the slices, it does not copy bytes.
  grpc::ByteBuffer copy(in);
  const size_t bytes = copy.Length();
  const grpc::Status s =
      grpc::SerializationTraits<google::protobuf::MessageLite>::Deserialize(&copy, req);
  if (s.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "request: ", bytes, " bytes are not a ", req->GetTypeName(),
      " (truncated, a bad tag or wire type, or a string that is not UTF-8)"));
}

void SerializeResponse(const google::protobuf::Message& resp, grpc::ByteBuffer* out) {
  bool own_buffer = false;
  grpc::ByteBuffer bytes;
  const grpc::Status s =
      grpc::SerializationTraits<google::protobuf::MessageLite>::Serialize(resp, &bytes,
                                                                         &own_buffer);
  // Only a message over 2 GiB fails, and SetMaxSendMessageSize refuses far less than that.
  if (!s.ok()) spdlog::error("serializing a {} failed: {}", resp.GetTypeName(), s.error_message());
  out->Swap(&bytes);
}

int MethodIndex(absl::string_view full_method) {
  const std::string dotted = absl::StrReplaceAll(full_method, {{"/", "."}});
  const google::protobuf::MethodDescriptor* m =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(dotted);
  if (m == nullptr) {
    spdlog::critical("no rpc method named {}", dotted);
    std::abort();
  }
  return m->index();
}

}  // namespace ppsim::service
