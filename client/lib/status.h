// File: client/lib/status.h
// How the client reports errors: absl::Status carrying the server's gRPC code and message
// unchanged (both mirror google.rpc.Code, so the codes convert one to one), and the rejected
// op of an Apply batch as the same kind of Status.
//
//   absl::StatusOr<v1::ApplyResponse> r = client.Apply(lab, ops);
//   if (!r.ok()) return r.status();                 // the RPC failed
//   if (absl::Status s = ApplyStatus(*r); !s.ok())   // an op was rejected; r->results() holds
//     return s;                                      // the results of the ops before it
#ifndef PPSIM_CLIENT_LIB_STATUS_H_
#define PPSIM_CLIENT_LIB_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "ppsim/v1/service.pb.h"

namespace ppsim::client {

absl::Status FromGrpc(const grpc::Status& s);

// The rejection's code and message. A rejection always fails: a code of OK or one outside
// google.rpc.Code (a server bug) becomes UNKNOWN, and an empty message names the op index.
absl::Status RejectionStatus(const v1::Rejection& r);

// OK when every op of the batch was applied, else RejectionStatus(r.rejected()).
absl::Status ApplyStatus(const v1::ApplyResponse& r);

}  // namespace ppsim::client

#endif  // PPSIM_CLIENT_LIB_STATUS_H_
