// A Watch client that stops answering (SIGSTOP, a debugger, a frozen pod) holds its identity's
// watch-stream slot only until keepalive finds it (server/service/services.cc: a ping every
// 5 s, dropped after 5 s unanswered): the next Watch of that identity is admitted within about
// 10 s, not after gRPC's default 2 h (issue 21 measured 79 s with the old 60 s + 20 s).
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ppsim/v1/service.grpc.pb.h"
#include "tests/integration/daemon_process.h"

namespace ppsim {
namespace {

// One Watch attempt: RESOURCE_EXHAUSTED if refused (the stream ends at once), otherwise the
// stream stays open until the 1 s deadline (DEADLINE_EXCEEDED): admitted.
grpc::StatusCode TryWatch(v1::QueryService::Stub* stub) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
  auto reader = stub->Watch(&ctx, v1::WatchRequest());
  v1::Event e;
  while (reader->Read(&e)) {
  }
  return reader->Finish().error_code();
}

TEST(WatchKeepaliveTest, AStoppedClientsWatchSlotIsReclaimedByKeepalive) {
  std::unique_ptr<testing::DaemonProcess> daemon =
      testing::DaemonProcess::Start(absl::Seconds(15), {"--max-watch-streams", "1"});
  ASSERT_NE(daemon, nullptr);
  auto channel = grpc::CreateChannel(daemon->grpc_target(), grpc::InsecureChannelCredentials());
  auto stub = v1::QueryService::NewStub(channel);

  // `ppctl watch` takes the (anonymous) identity's only slot: it holds it once it prints the
  // event of an op applied after it started (no Watch of ours competes for the slot till then).
  auto labs = v1::LabService::NewStub(channel);
  auto ops = v1::OpsService::NewStub(channel);
  grpc::ClientContext create_ctx;
  v1::LabInfo lab;
  ASSERT_TRUE(labs->CreateLab(&create_ctx, v1::CreateLabRequest(), &lab).ok());
  testing::TempDir dir;
  const std::string out = dir.path() + "/out", err = dir.path() + "/err";
  const pid_t watcher =
      testing::Spawn({PPCTL_PATH, "watch", "--target", daemon->grpc_target()}, out, err);
  ASSERT_GT(watcher, 0);
  const absl::Time held_by = absl::Now() + absl::Seconds(30);
  while (testing::ReadWholeFile(out).empty() && absl::Now() < held_by &&
         !testing::WaitForExit(watcher, absl::Milliseconds(100))) {
    v1::ApplyRequest req;
    req.set_lab(lab.id());
    req.add_ops()->mutable_add_device();
    grpc::ClientContext ctx;
    v1::ApplyResponse resp;
    ASSERT_TRUE(ops->Apply(&ctx, req, &resp).ok());
  }
  ASSERT_FALSE(testing::ReadWholeFile(out).empty())
      << "ppctl watch saw no event: " << testing::ReadWholeFile(err);
  ASSERT_EQ(TryWatch(stub.get()), grpc::StatusCode::RESOURCE_EXHAUSTED) << "ppctl holds the slot";

  // Stopped, its process answers no ping: the daemon must drop the connection by itself.
  ASSERT_EQ(kill(watcher, SIGSTOP), 0);
  const absl::Time stopped = absl::Now();
  grpc::StatusCode code = grpc::StatusCode::RESOURCE_EXHAUSTED;
  while (code == grpc::StatusCode::RESOURCE_EXHAUSTED &&
         absl::Now() < stopped + absl::Seconds(60)) {
    code = TryWatch(stub.get());
  }
  const absl::Duration took = absl::Now() - stopped;
  std::printf("watch slot of a stopped client reclaimed after %.1f s\n",
              absl::ToDoubleSeconds(took));
  EXPECT_EQ(code, grpc::StatusCode::DEADLINE_EXCEEDED) << "admitted: open until our deadline";
  // Keepalive's 5 s + 5 s plus one 5 s period of phase; 60 s would be the old settings' ~80 s.
  EXPECT_LT(took, absl::Seconds(30)) << "reclaimed by keepalive, not by a TCP or gRPC default";

  kill(watcher, SIGKILL);
  waitpid(watcher, nullptr, 0);
}

}  // namespace
}  // namespace ppsim
