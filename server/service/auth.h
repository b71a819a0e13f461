// Who is calling, and may they touch this lab (docs/design.md §7: "a lab belongs to the identity
// that created it").
//
// An identity comes from one of two credentials:
//   - a bearer token: `authorization: Bearer TOKEN` call metadata, looked up in the token file
//     (--auth-tokens FILE, format below), compared in constant time;
//   - a client certificate verified against --tls-client-ca during the TLS handshake (mTLS):
//     the identity is the certificate's subject CN.
// Tokens and certificates share one namespace: the token of "alice" and a certificate with
// CN=alice are the same identity. A token, when sent, decides (a wrong token is refused even
// if a good certificate came with it).
//
// Open mode: with neither --auth-tokens nor --tls-client-ca, every caller is the anonymous
// identity ("") and may use every lab, which is how ppsimd behaved before authentication
// existed; quotas still apply to that one shared identity.
// Closed mode (either flag): a call without a credential is UNAUTHENTICATED, naming what it
// lacks; a lab created by one identity is PERMISSION_DENIED to every other, except the
// --admin-identities, which see and may act on every lab (an operator cleaning up).
// grpc.health.v1 and reflection are served by gRPC itself and never reach these checks:
// Kubernetes' native gRPC probes carry no token (daemon_options.h).
//
// Token file: one `TOKEN IDENTITY` per line, separated by blanks; `#` starts a comment.
//   # ppsim tokens: openssl rand -hex 32
//   3f9a...c2 alice
//   77be...01 ci-soak
// Tokens are at least 16 characters of [A-Za-z0-9._~+/=-] (RFC 6750 b64token); identities
// are 1..64 characters of [A-Za-z0-9._@-]; both unique in the file.
#ifndef PPSIM_SERVER_SERVICE_AUTH_H_
#define PPSIM_SERVER_SERVICE_AUTH_H_

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_context.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/service/lab_registry.h"

namespace ppsim::service {

struct Identity {
  std::string name;    // "" = anonymous (open mode)
  bool admin = false;  // may use every lab; true for the anonymous identity of open mode

  // For messages: "alice", or "anonymous".
  std::string Display() const { return name.empty() ? "anonymous" : name; }
};

struct TokenEntry {
  std::string token;
  std::string identity;
};

// Parses a token file's text; errors name `source`, the line and what is wrong with it (never
// the token itself).
absl::StatusOr<std::vector<TokenEntry>> ParseTokenFile(absl::string_view text,
                                                       absl::string_view source);
absl::StatusOr<std::vector<TokenEntry>> LoadTokenFile(const std::string& path);

// True when `a` and `b` are equal; the time taken depends only on b's length, never on where
// they differ (so a token cannot be guessed byte by byte from response times).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

class Authenticator {
 public:
  struct Config {
    std::vector<TokenEntry> tokens;  // empty = no bearer tokens
    bool client_certs = false;       // --tls-client-ca given: certificate CNs are identities
    std::vector<std::string> admins;
  };

  Authenticator() = default;  // open mode
  explicit Authenticator(Config config);

  // False in open mode.
  bool closed() const { return !config_.tokens.empty() || config_.client_certs; }

  // The caller of `ctx` (its metadata and TLS peer).
  absl::StatusOr<Identity> Authenticate(const grpc::ServerContextBase& ctx) const;
  // The same from the parts: `authorization` is the metadata value if sent, `cert_cn` the
  // verified peer certificate's CN if any.
  absl::StatusOr<Identity> Authenticate(std::optional<absl::string_view> authorization,
                                        std::optional<absl::string_view> cert_cn) const;

 private:
  Identity Named(absl::string_view name) const;

  Config config_;
  absl::flat_hash_set<std::string> admins_;
};

// Transport credentials for ppsimd's listener from PEM files: plaintext when `cert` is "",
// else TLS; with `client_ca`, mutual TLS. A client certificate, when presented, must verify
// against `client_ca` (else the handshake fails); it is not required by the handshake, so
// grpc.health.v1 stays reachable by probes that have none, and a call that carries neither a
// verified certificate nor a token is refused by Authenticate with a message saying so.
// Errors name the flag and the file.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const std::string& cert, const std::string& key, const std::string& client_ca);

// OK when `who` may use lab `e`: its owner, an admin, or anyone in open mode. Otherwise
// PERMISSION_DENIED naming the lab and the caller (not the owner).
absl::Status CheckOwner(const Identity& who, const LabEntry& e);

// Registry lookup plus CheckOwner: NOT_FOUND / FAILED_PRECONDITION / PERMISSION_DENIED.
absl::StatusOr<std::shared_ptr<LabEntry>> OwnedLab(const LabRegistry& labs, const Identity& who,
                                                   uint64_t id);

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_AUTH_H_
