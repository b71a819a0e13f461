// A real ppsimd for the integration tests: spawned on 127.0.0.1 with port 0 for gRPC and
// metrics, a private temp --data-dir, and a --ready-file that says which ports it bound (what
// daemon.sh does for the shell tests). Also runs ppctl and captures what it prints.
//
//   std::unique_ptr<DaemonProcess> d = DaemonProcess::Start();   // a test failure if not ready
//   ... Client::Connect(d->grpc_target(), ...) ...
//   std::optional<int> status = d->Terminate(absl::Seconds(15));  // SIGTERM, then the exit status
//
// The children are started with posix_spawn (no atfork handlers run in this gRPC-threaded
// process) with SIGTERM/SIGINT unblocked and at their default action.
#ifndef PPSIM_TESTS_INTEGRATION_DAEMON_PROCESS_H_
#define PPSIM_TESTS_INTEGRATION_DAEMON_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

#ifndef PPSIMD_PATH
#error "PPSIMD_PATH (the built ppsimd) is defined for the targets in tests/CMakeLists.txt's list"
#endif

extern char** environ;

namespace ppsim::testing {

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it by the destructor.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/ppsim_daemon_test.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp(" << tmpl << "): " << std::strerror(errno);
      return;
    }
    path_ = buf.data();
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Spawns `argv` (argv[0] is the path) with stdout and stderr to the given files ("" = inherit).
// Returns the pid, or -1 (and a test failure).
inline pid_t Spawn(const std::vector<std::string>& argv, const std::string& stdout_path,
                   const std::string& stderr_path) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!stdout_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  if (!stderr_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn(" << argv[0] << "): " << std::strerror(rc);
    return -1;
  }
  return pid;
}

// waitpid with a deadline: the raw wait status, or nullopt if `pid` is still running then.
inline std::optional<int> WaitForExit(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) {
      ADD_FAILURE() << "waitpid(" << pid << "): " << std::strerror(errno);
      return std::nullopt;
    }
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

inline std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by ") + strsignal(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

// What a finished command did.
struct CommandResult {
  int exit_code = -1;  // -1: did not exit normally, or did not finish in time (killed)
  std::string out;
  std::string err;
};

// Runs a program to completion (killed after `timeout`) and captures its output.
inline CommandResult RunCommand(const std::vector<std::string>& argv,
                                absl::Duration timeout = absl::Seconds(20)) {
  TempDir dir;
  const std::string out = dir.path() + "/stdout", err = dir.path() + "/stderr";
  CommandResult r;
  const pid_t pid = Spawn(argv, out, err);
  if (pid < 0) return r;
  std::optional<int> status = WaitForExit(pid, timeout);
  if (!status) {
    ADD_FAILURE() << argv[0] << " did not finish within " << absl::FormatDuration(timeout);
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  } else if (WIFEXITED(*status)) {
    r.exit_code = WEXITSTATUS(*status);
  } else {
    ADD_FAILURE() << argv[0] << " " << DescribeWaitStatus(*status);
  }
  r.out = ReadWholeFile(out);
  r.err = ReadWholeFile(err);
  return r;
}

class DaemonProcess {
 public:
  // Starts ppsimd and waits (up to `timeout`) for its ready file. nullptr and a test failure
  // (with the daemon's log) if it dies or never gets ready.
  // `extra_args` are appended to the daemon's command line (security_test: TLS, tokens).
  static std::unique_ptr<DaemonProcess> Start(absl::Duration timeout = absl::Seconds(15),
                                              const std::vector<std::string>& extra_args = {}) {
    std::unique_ptr<DaemonProcess> d(new DaemonProcess());
    if (d->dir_.path().empty()) return nullptr;
    d->ready_file_ = d->dir_.path() + "/ready.json";
    d->log_file_ = d->dir_.path() + "/ppsimd.log";
    d->data_dir_ = d->dir_.path() + "/data";
    std::vector<std::string> argv = {PPSIMD_PATH, "--listen", "127.0.0.1:0", "--metrics-listen",
                                     "127.0.0.1:0", "--data-dir", d->data_dir_, "--ready-file",
                                     d->ready_file_, "--log-format", "json", "--log-level", "debug"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    d->pid_ = Spawn(argv, d->log_file_, d->log_file_ + ".stderr");
    if (d->pid_ < 0) return nullptr;
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      // The daemon writes a temp file and renames it: the file is whole once it exists.
      std::error_code ec;
      if (std::filesystem::exists(d->ready_file_, ec)) break;
      int status = 0;
      if (waitpid(d->pid_, &status, WNOHANG) == d->pid_) {
        d->pid_ = -1;
        ADD_FAILURE() << "ppsimd " << DescribeWaitStatus(status) << " before it was ready:\n"
                      << d->log();
        return nullptr;
      }
      if (absl::Now() >= deadline) {
        ADD_FAILURE() << "ppsimd not ready within " << absl::FormatDuration(timeout) << ":\n"
                      << d->log();
        return nullptr;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    d->ready_json_ = ReadWholeFile(d->ready_file_);
    std::smatch m;
    const std::regex grpc_re(R"re("grpc"\s*:\s*"([^"]+)")re");
    const std::regex metrics_re(R"re("metrics"\s*:\s*"([^"]+)")re");
    const std::regex pid_re(R"re("pid"\s*:\s*(\d+))re");
    if (std::regex_search(d->ready_json_, m, grpc_re)) d->grpc_target_ = m[1];
    if (std::regex_search(d->ready_json_, m, metrics_re)) d->metrics_target_ = m[1];
    if (std::regex_search(d->ready_json_, m, pid_re)) d->ready_pid_ = std::stol(m[1]);
    if (d->grpc_target_.empty()) {
      ADD_FAILURE() << "no \"grpc\" address in the ready file: " << d->ready_json_;
      return nullptr;
    }
    return d;
  }

  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // A daemon still running here is killed outright: the test already failed or did not care.
  ~DaemonProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // Sends `sig` and waits up to `timeout` for the exit: the raw wait status, or nullopt (and
  // the daemon is then killed) when it did not exit in time.
  std::optional<int> Terminate(absl::Duration timeout, int sig = SIGTERM) {
    if (pid_ <= 0) return std::nullopt;
    kill(pid_, sig);
    std::optional<int> status = WaitForExit(pid_, timeout);
    if (!status) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
    return status;
  }

  bool running() const { return pid_ > 0 && kill(pid_, 0) == 0; }
  pid_t pid() const { return pid_; }
  const std::string& grpc_target() const { return grpc_target_; }
  const std::string& metrics_target() const { return metrics_target_; }
  long ready_pid() const { return ready_pid_; }
  const std::string& ready_json() const { return ready_json_; }
  const std::string& ready_file() const { return ready_file_; }
  const std::string& data_dir() const { return data_dir_; }
  // Everything the daemon logged so far (stdout, then stderr).
  std::string log() const {
    return ReadWholeFile(log_file_) + ReadWholeFile(log_file_ + ".stderr");
  }

 private:
  DaemonProcess() = default;

  TempDir dir_;
  pid_t pid_ = -1;
  std::string ready_file_, log_file_, data_dir_;
  std::string ready_json_, grpc_target_, metrics_target_;
  long ready_pid_ = -1;
};

}  // namespace ppsim::testing

#endif  // PPSIM_TESTS_INTEGRATION_DAEMON_PROCESS_H_
