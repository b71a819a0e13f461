#include "server/service/auth.h"

#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ppsim::service {

namespace {

constexpr size_t kMinTokenChars = 16;
constexpr size_t kMaxIdentityChars = 64;

bool TokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
         c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

bool IdentityChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
         c == '_' || c == '@';
}

template <class Pred>
bool All(absl::string_view s, Pred p) {
  for (char c : s) {
    if (!p(c)) return false;
  }
  return true;
}

}  // namespace

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  // Walk all of b whatever a is; index a modulo its size so a short `a` costs the same.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < b.size(); ++i) {
    const unsigned char x = a.empty() ? 0 : static_cast<unsigned char>(a[i % a.size()]);
    diff |= x ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

absl::StatusOr<std::vector<TokenEntry>> ParseTokenFile(absl::string_view text,
                                                       absl::string_view source) {
  std::vector<TokenEntry> out;
  absl::flat_hash_map<std::string, int> token_line, identity_line;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) line = line.substr(0, hash);
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (fields.empty()) continue;
    const std::string where = absl::StrCat(source, ": line ", line_no, ": ");
    if (fields.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "expected `TOKEN IDENTITY`, found ", fields.size(), " fields"));
    }
    const absl::string_view token = fields[0], identity = fields[1];
    if (token.size() < kMinTokenChars || !All(token, TokenChar)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "token (", token.size(), " characters) must be at least ", kMinTokenChars,
          " characters of [A-Za-z0-9._~+/=-] (e.g. `openssl rand -hex 32`)"));
    }
    if (identity.size() > kMaxIdentityChars || !All(identity, IdentityChar)) {
      return absl::InvalidArgumentError(absl::StrCat(where, "identity \"", identity,
                                                     "\" must be 1..", kMaxIdentityChars,
                                                     " characters of [A-Za-z0-9._@-]"));
    }
    if (auto [it, fresh] = token_line.emplace(token, line_no); !fresh) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "token already given on line ", it->second));
    }
    if (auto [it, fresh] = identity_line.emplace(identity, line_no); !fresh) {
      return absl::InvalidArgumentError(absl::StrCat(where, "identity \"", identity,
                                                     "\" already given on line ", it->second));
    }
    out.push_back({std::string(token), std::string(identity)});
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": no `TOKEN IDENTITY` lines (an empty token file admits nobody)"));
  }
  return out;
}

absl::StatusOr<std::vector<TokenEntry>> LoadTokenFile(const std::string& path) {
  std::ifstream f(path);
  if (!f) {
    return absl::InvalidArgumentError(absl::StrCat("auth-tokens: cannot read \"", path, "\""));
  }
  std::stringstream text;
  text << f.rdbuf();
  return ParseTokenFile(text.str(), absl::StrCat("auth-tokens ", path));
}

Authenticator::Authenticator(Config config) : config_(std::move(config)) {
  admins_.insert(config_.admins.begin(), config_.admins.end());
}

Identity Authenticator::Named(absl::string_view name) const {
  return Identity{std::string(name), admins_.contains(name)};
}

absl::StatusOr<Identity> Authenticator::Authenticate(
    std::optional<absl::string_view> authorization,
    std::optional<absl::string_view> cert_cn) const {
  if (!closed()) return Identity{"", /*admin=*/true};
  if (authorization.has_value() && !config_.tokens.empty()) {
    absl::string_view value = absl::StripAsciiWhitespace(*authorization);
    if (value.size() < 7 || !absl::EqualsIgnoreCase(value.substr(0, 7), "bearer ")) {
      return absl::UnauthenticatedError(
          "auth: authorization metadata is not \"Bearer TOKEN\"");
    }
    const absl::string_view token = absl::StripLeadingAsciiWhitespace(value.substr(7));
    // Every entry is compared, so the time does not say which one (or whether one) matched.
    const TokenEntry* match = nullptr;
    for (const TokenEntry& t : config_.tokens) {
      if (ConstantTimeEquals(t.token, token)) match = &t;
    }
    if (match == nullptr) {
      return absl::UnauthenticatedError(absl::StrCat(
          "auth: bearer token (", token.size(), " characters) is not in --auth-tokens"));
    }
    return Named(match->identity);
  }
  if (config_.client_certs && cert_cn.has_value() && !cert_cn->empty()) return Named(*cert_cn);
  std::string wanted;
  if (!config_.tokens.empty()) wanted = "`authorization: Bearer TOKEN` metadata";
  if (config_.client_certs) {
    absl::StrAppend(&wanted, wanted.empty() ? "" : " or ",
                    "a client certificate signed by --tls-client-ca");
  }
  return absl::UnauthenticatedError(
      absl::StrCat("auth: no credentials; ppsimd requires ", wanted));
}

absl::StatusOr<Identity> Authenticator::Authenticate(const grpc::ServerContextBase& ctx) const {
  if (!closed()) return Identity{"", /*admin=*/true};
  std::optional<absl::string_view> authorization;
  const auto& md = ctx.client_metadata();
  if (auto it = md.find("authorization"); it != md.end()) {
    authorization = absl::string_view(it->second.data(), it->second.size());
  }
  std::optional<std::string> cn;
  if (std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
      auth != nullptr && auth->IsPeerAuthenticated()) {
    std::vector<grpc::string_ref> values = auth->FindPropertyValues("x509_common_name");
    if (!values.empty()) cn = std::string(values.front().data(), values.front().size());
  }
  return Authenticate(authorization,
                      cn.has_value() ? std::optional<absl::string_view>(*cn) : std::nullopt);
}

namespace {

absl::StatusOr<std::string> ReadPem(absl::string_view flag, const std::string& path) {
  std::ifstream f(path);
  if (!f) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read \"", path, "\""));
  std::stringstream text;
  text << f.rdbuf();
  if (text.str().find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": \"", path, "\" is not PEM (no -----BEGIN line)"));
  }
  return text.str();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const std::string& cert, const std::string& key, const std::string& client_ca) {
  if (cert.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions opts;
  absl::StatusOr<std::string> cert_pem = ReadPem("--tls-cert", cert);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = ReadPem("--tls-key", key);
  if (!key_pem.ok()) return key_pem.status();
  opts.pem_key_cert_pairs.push_back({*key_pem, *cert_pem});
  if (!client_ca.empty()) {
    absl::StatusOr<std::string> ca_pem = ReadPem("--tls-client-ca", client_ca);
    if (!ca_pem.ok()) return ca_pem.status();
    opts.pem_root_certs = *ca_pem;
    opts.client_certificate_request = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(opts);
}

absl::Status CheckOwner(const Identity& who, const LabEntry& e) {
  if (who.admin || e.owner == who.name) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      "lab: lab ", e.id, " belongs to another identity; ", who.Display(),
      " may use only the labs it created"));
}

absl::StatusOr<std::shared_ptr<LabEntry>> OwnedLab(const LabRegistry& labs, const Identity& who,
                                                   uint64_t id) {
  absl::StatusOr<std::shared_ptr<LabEntry>> e = labs.Get(id);
  if (!e.ok()) return e.status();
  if (absl::Status s = CheckOwner(who, **e); !s.ok()) return s;
  return e;
}

}  // namespace ppsim::service
