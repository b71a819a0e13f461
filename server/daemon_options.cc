#include "server/daemon_options.h"

#include <charconv>
#include <functional>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/service/quota.h"
#include "yaml-cpp/yaml.h"

#ifndef PPSIM_VERSION
#define PPSIM_VERSION "dev"
#endif

namespace ppsim::daemon {

namespace {

std::string CheckOneOf(const std::string& value, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed) {
    if (value == a) return "";
  }
  return absl::StrCat("\"", value, "\" is not one of ", absl::StrJoin(allowed, ", "));
}

std::string CheckLogFormat(const std::string& v) { return CheckOneOf(v, {"text", "json"}); }

std::string CheckLogLevel(const std::string& v) {
  return CheckOneOf(v, {"trace", "debug", "info", "warn", "error", "critical", "off"});
}

std::string CheckNotEmpty(const std::string& v) { return v.empty() ? "must not be empty" : ""; }

std::string CheckDurability(const std::string& v) {
  return CheckOneOf(v, {"normal", "full", "none"});
}

std::string CheckBool(const std::string& v) { return CheckOneOf(v, {"true", "false"}); }

std::string CheckSize(const std::string& v) {
  absl::StatusOr<uint64_t> n = service::ParseSize(v);
  return n.ok() ? "" : std::string(n.status().message());
}

std::string CheckMessageBytes(const std::string& v) {
  absl::StatusOr<uint64_t> n = service::ParseSize(v);
  if (!n.ok()) return std::string(n.status().message());
  if (*n < 4096 || *n > uint64_t{1} << 30) return absl::StrCat("\"", v, "\" is not in 4KiB..1GiB");
  return "";
}

// One row per setting: the flag is "--" + key and the YAML key is key, so the two can never
// drift apart.
struct Setting {
  const char* key;
  std::string DaemonOptions::*field;
  const char* type;
  const char* help;
  std::string (*check)(const std::string&);  // nullptr = any value
  bool flag = false;  // a switch: `--key` alone means "true" (the YAML value is true|false)
};

constexpr Setting kSettings[] = {
    {"listen", &DaemonOptions::listen, "HOST:PORT",
     "gRPC address (port 0 picks a free port; see --ready-file)", CheckHostPort},
    {"metrics-listen", &DaemonOptions::metrics_listen, "HOST:PORT",
     "Prometheus /metrics address (port 0 picks a free port)", CheckHostPort},
    {"data-dir", &DaemonOptions::data_dir, "DIR", "state directory, created if missing",
     CheckNotEmpty},
    {"log-format", &DaemonOptions::log_format, "text|json",
     "log lines on stdout: text, or one JSON object per line", CheckLogFormat},
    {"log-level", &DaemonOptions::log_level, "LEVEL",
     "trace, debug, info, warn, error, critical or off", CheckLogLevel},
    {"ready-file", &DaemonOptions::ready_file, "PATH",
     "once serving, write {\"grpc\": HOST:PORT, \"metrics\": HOST:PORT, \"pid\": N} here "
     "(atomically: temp file + rename) with the ports actually bound",
     nullptr},
    {"durability", &DaemonOptions::durability, "normal|full|none",
     "the SQLite journal in --data-dir, committed before each RPC returns and replayed at "
     "start: normal survives a killed ppsimd (WAL write, no fsync), full also a power loss "
     "(fsync per batch), none keeps no journal (labs die with the process)",
     CheckDurability},
    // Security (server/service/auth.h, daemon_options.h: CheckTransportSecurity).
    {"tls-cert", &DaemonOptions::tls_cert, "FILE", "PEM server certificate (chain): serve TLS",
     nullptr},
    {"tls-key", &DaemonOptions::tls_key, "FILE", "PEM private key of --tls-cert", nullptr},
    {"tls-client-ca", &DaemonOptions::tls_client_ca, "FILE",
     "PEM CA bundle: verify client certificates (mTLS); a verified certificate's CN is the "
     "caller's identity, and calls without a credential are refused",
     nullptr},
    {"auth-tokens", &DaemonOptions::auth_tokens, "FILE",
     "bearer tokens, one `TOKEN IDENTITY` per line; calls without a credential are refused",
     nullptr},
    {"admin-identities", &DaemonOptions::admin_identities, "NAME,...",
     "identities that see and may act on every lab (others: only the labs they created)",
     nullptr},
    {"insecure-plaintext", &DaemonOptions::insecure_plaintext, "",
     "allow plaintext gRPC on a non-loopback --listen address (without --tls-cert)", CheckBool,
     true},
    {"metrics-web-config", &DaemonOptions::metrics_web_config, "FILE",
     "/metrics TLS and basic auth in the Prometheus exporter-toolkit web-config format "
     "(tls_server_config: cert_file, key_file; basic_auth_users: NAME: BCRYPT-HASH)",
     nullptr},
    {"metrics-insecure", &DaemonOptions::metrics_insecure, "",
     "allow plaintext /metrics on a non-loopback --metrics-listen (without a web-config TLS)",
     CheckBool, true},
    // Quotas per identity (server/service/quota.h); 0 = no limit.
    {"max-labs", &DaemonOptions::max_labs, "N", "labs alive per identity", CheckSize},
    {"max-lab-ram", &DaemonOptions::max_lab_ram, "BYTES",
     "config.ram_bytes of one lab (0: the model's 16TiB)", CheckSize},
    {"max-lab-frames", &DaemonOptions::max_lab_frames, "N",
     "materialised page frames of one lab (host memory: ~48 bytes each)", CheckSize},
    {"max-batch-ops", &DaemonOptions::max_batch_ops, "N", "ops in one Apply/Stream batch",
     CheckSize},
    {"max-watch-streams", &DaemonOptions::max_watch_streams, "N",
     "open Watch streams per identity", CheckSize},
    {"max-ops-per-second", &DaemonOptions::max_ops_per_second, "N",
     "ops per second per identity (token bucket, one second of burst)", CheckSize},
    {"memory-cap", &DaemonOptions::memory_cap, "BYTES",
     "refuse new labs and ops while ppsimd's resident memory is at or over this", CheckSize},
    {"max-message-bytes", &DaemonOptions::max_message_bytes, "BYTES",
     "largest gRPC message either way (4KiB..1GiB)", CheckMessageBytes},
};

std::string KeyList() {
  std::string out;
  for (const Setting& s : kSettings) absl::StrAppend(&out, out.empty() ? "" : ", ", s.key);
  return out;
}

// Settings from the YAML file, for every key the command line did not set. "" or an error
// naming the file, line and key.
std::string ApplyConfigFile(const CLI::App& app, DaemonOptions* opts) {
  const std::string& path = opts->config;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return absl::StrCat("--config: cannot read \"", path, "\"");
  } catch (const YAML::Exception& e) {
    return absl::StrCat("--config ", path, ": ", e.what());
  }
  if (root.IsNull()) return "";  // an empty file sets nothing
  if (!root.IsMap()) {
    return absl::StrCat("--config ", path, ": expected a mapping of settings (", KeyList(), ")");
  }
  for (const auto& kv : root) {
    const std::string where = absl::StrCat("--config ", path, ": line ", kv.first.Mark().line + 1);
    const std::string key = kv.first.Scalar();
    const Setting* setting = nullptr;
    for (const Setting& s : kSettings) {
      if (key == s.key) setting = &s;
    }
    if (setting == nullptr) {
      return absl::StrCat(where, ": unknown key \"", key, "\"; expected one of ", KeyList());
    }
    if (!kv.second.IsScalar()) {
      return absl::StrCat(where, ": ", key, ": expected a single value (", setting->type, ")");
    }
    const std::string value = kv.second.Scalar();
    if (setting->check != nullptr) {
      if (std::string why = setting->check(value); !why.empty()) {
        return absl::StrCat(where, ": ", key, ": ", why);
      }
    }
    if (app.count(absl::StrCat("--", key)) == 0) opts->*(setting->field) = value;
  }
  return "";
}

}  // namespace

std::string CheckHostPort(const std::string& value) {
  const size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::StrCat("\"", value, "\" is not HOST:PORT (e.g. 127.0.0.1:50051, [::]:0)");
  }
  const std::string port = value.substr(colon + 1);
  int n = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || n < 0 ||
      n > 65535) {
    return absl::StrCat("\"", value, "\": port \"", port, "\" is not in 0..65535");
  }
  return "";
}

bool IsLoopbackListen(absl::string_view listen) {
  std::string host = absl::AsciiStrToLower(listen.substr(0, listen.rfind(':')));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

std::string CheckTransportSecurity(const DaemonOptions& o) {
  if (o.tls_cert.empty()) {
    if (!o.tls_key.empty()) return "--tls-key: given without --tls-cert";
    if (!o.tls_client_ca.empty()) return "--tls-client-ca: mTLS needs TLS; give --tls-cert too";
  } else if (o.tls_key.empty()) {
    return "--tls-cert: given without --tls-key";
  }
  if (!o.tls_cert.empty() || o.insecure_plaintext == "true") return "";
  if (IsLoopbackListen(o.listen)) return "";
  return absl::StrCat("--listen: \"", o.listen,
                      "\" is not a loopback address and --tls-cert is not given; serve TLS "
                      "(--tls-cert, --tls-key) or pass --insecure-plaintext to serve plaintext "
                      "there anyway");
}

int ParseDaemonOptions(int argc, const char* const* argv, DaemonOptions* out,
                       std::ostream& out_stream, std::ostream& err_stream) {
  CLI::App app("ppsimd: the ppsim daemon. Hosts simulated page_pool labs, serves the "
               "ppsim.v1 gRPC API (with grpc.health.v1 and reflection) and Prometheus metrics.",
               "ppsimd");
  app.set_version_flag("--version", PPSIM_VERSION);
  app.footer(absl::StrCat(
      "Every flag can also be set in the --config YAML file under its name without the dashes (",
      KeyList(), "); flags win over the file. SIGTERM or SIGINT shut down gracefully: running batches "
      "stop before their next op and answer with how many ops they applied; in-flight calls get "
      "5 s. ", ExitStatusHelp()));
  DaemonOptions opts;
  for (const Setting& s : kSettings) {
    CLI::Option* o =
        s.flag ? app.add_flag(absl::StrCat("--", s.key, "{true}"), opts.*(s.field), s.help)
               : app.add_option(absl::StrCat("--", s.key), opts.*(s.field), s.help);
    o->capture_default_str()->type_name(s.type);
    if (s.check != nullptr) {
      auto check = s.check;
      o->check(CLI::Validator([check](std::string& v) { return check(v); }, ""));
    }
  }
  app.add_option("--config", opts.config, "YAML file with any of the settings above")
      ->type_name("FILE");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e, out_stream, err_stream);
  } catch (const CLI::ParseError& e) {
    err_stream << "ppsimd: " << e.what() << "\nRun ppsimd --help for the flags.\n";
    return kExitUsage;
  }
  if (!opts.config.empty()) {
    if (std::string err = ApplyConfigFile(app, &opts); !err.empty()) {
      err_stream << "ppsimd: " << err << "\n";
      return kExitUsage;
    }
  }
  *out = std::move(opts);
  return -1;
}

}  // namespace ppsim::daemon
