#include "server/metrics_web_config.h"

#include <crypt.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/daemon_options.h"
#include "yaml-cpp/yaml.h"

namespace ppsim::daemon {
namespace {

absl::Status Bad(const std::string& path, const YAML::Node& at, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("--metrics-web-config ", path, ":", at.Mark().line + 1, ": ", what));
}

// A path in the file is relative to the file's folder, as exporter-toolkit resolves it.
std::string Resolve(const std::string& config_path, const std::string& p) {
  if (p.empty() || std::filesystem::path(p).is_absolute()) return p;
  return (std::filesystem::path(config_path).parent_path() / p).string();
}

bool IsBcrypt(absl::string_view h) {
  // $2a$, $2b$ or $2y$, a two-digit cost, $, then 53 characters of salt and hash.
  return h.size() == 60 &&
         (absl::StartsWith(h, "$2a$") || absl::StartsWith(h, "$2b$") ||
          absl::StartsWith(h, "$2y$")) &&
         h[6] == '$';
}

}  // namespace

absl::StatusOr<MetricsWebConfig> LoadMetricsWebConfig(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics-web-config: cannot read \"", path, "\""));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("--metrics-web-config ", path, ": ", e.what()));
  }
  MetricsWebConfig c;
  if (root.IsNull()) return c;
  if (!root.IsMap()) {
    return Bad(path, root, "expected a mapping (tls_server_config, basic_auth_users)");
  }
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    if (key == "tls_server_config") {
      if (!kv.second.IsMap()) return Bad(path, kv.first, "tls_server_config: expected a mapping");
      for (const auto& t : kv.second) {
        const std::string k = t.first.Scalar();
        if (k != "cert_file" && k != "key_file") {
          return Bad(path, t.first,
                     absl::StrCat("tls_server_config.", k,
                                  ": not supported by ppsimd (cert_file and key_file are)"));
        }
        if (!t.second.IsScalar() || t.second.Scalar().empty()) {
          return Bad(path, t.first, absl::StrCat("tls_server_config.", k, ": expected a path"));
        }
        (k == "cert_file" ? c.cert_file : c.key_file) = Resolve(path, t.second.Scalar());
      }
      if (c.cert_file.empty() || c.key_file.empty()) {
        return Bad(path, kv.first,
                   absl::StrCat("tls_server_config.", c.cert_file.empty() ? "cert_file" : "key_file",
                                ": missing"));
      }
    } else if (key == "basic_auth_users") {
      if (!kv.second.IsMap()) return Bad(path, kv.first, "basic_auth_users: expected a mapping");
      for (const auto& u : kv.second) {
        const std::string user = u.first.Scalar();
        const std::string hash = u.second.IsScalar() ? u.second.Scalar() : "";
        if (!IsBcrypt(hash)) {
          return Bad(path, u.first,
                     absl::StrCat("basic_auth_users.", user,
                                  ": not a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)"));
        }
        c.users[user] = hash;
      }
    } else {
      return Bad(path, kv.first,
                 absl::StrCat(key, ": not supported by ppsimd (tls_server_config and "
                                   "basic_auth_users are)"));
    }
  }
  return c;
}

bool CheckBasicAuth(const MetricsWebConfig& config, const std::string& user,
                    const std::string& password) {
  const auto it = config.users.find(user);
  if (it == config.users.end()) return false;
  // crypt_r's state is large (~32 KiB): on the heap, one per check (scrapes are rare).
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* out = crypt_r(password.c_str(), it->second.c_str(), data.get());
  return out != nullptr && it->second == out;
}

std::string CheckMetricsSecurity(absl::string_view listen, const MetricsWebConfig& config,
                                 bool insecure) {
  if (config.tls() || insecure || IsLoopbackListen(listen)) return "";
  return absl::StrCat("--metrics-listen: \"", listen,
                      "\" is not a loopback address and --metrics-web-config sets no "
                      "tls_server_config; /metrics names every tenant's labs, so serve it over "
                      "TLS (--metrics-web-config) or pass --metrics-insecure to serve plaintext "
                      "there anyway");
}

}  // namespace ppsim::daemon
