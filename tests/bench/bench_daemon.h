// A ppsimd for benchmarks that measure the API: started once with free ports and a
// --ready-file in a temp dir, stopped with SIGTERM. Not a test fixture (no gtest): benchmarks
// report what they measure and never assert on it. Shared by ppsim_bench_rpc and
// ppsim_bench_chaos.
#ifndef PPSIM_TESTS_BENCH_BENCH_DAEMON_H_
#define PPSIM_TESTS_BENCH_BENCH_DAEMON_H_

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace ppsim::bench {

class BenchDaemon {
 public:
  // Starts `ppsimd`; false if it did not write its ready file within 10 s.
  bool Start(const std::string& ppsimd, const std::string& tag) {
    dir_ = std::filesystem::temp_directory_path() / (tag + "." + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    const std::string ready = dir_ + "/ready.json";
    const std::string data = dir_ + "/data";
    pid_ = fork();
    if (pid_ == 0) {
      execl(ppsimd.c_str(), ppsimd.c_str(), "--listen", "127.0.0.1:0", "--metrics-listen",
            "127.0.0.1:0", "--data-dir", data.c_str(), "--ready-file", ready.c_str(),
            "--log-level", "warn", static_cast<char*>(nullptr));
      std::perror("exec ppsimd");
      _exit(127);
    }
    for (int i = 0; i < 400; ++i) {
      std::ifstream f(ready);
      std::stringstream ss;
      ss << f.rdbuf();
      const std::string s = ss.str();
      // {"grpc":"127.0.0.1:PORT",...}: written atomically, so a read sees all of it or nothing.
      const size_t k = s.find("\"grpc\"");
      if (k != std::string::npos) {
        const size_t a = s.find('"', s.find(':', k) + 1) + 1;
        target_ = s.substr(a, s.find('"', a) - a);
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }

  ~BenchDaemon() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  const std::string& target() const { return target_; }

 private:
  pid_t pid_ = 0;
  std::string dir_;
  std::string target_;
};

}  // namespace ppsim::bench

#endif  // PPSIM_TESTS_BENCH_BENCH_DAEMON_H_
