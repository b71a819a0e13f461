// File: client/lib/watch.h
// A running QueryService.Watch: events go to a callback on a gRPC thread as they arrive,
// until the server ends the stream (UNAVAILABLE at shutdown, FAILED_PRECONDITION when a watched
// lab is deleted) or the owner cancels it. A watcher that fell behind gets an EVENT_LAGGED event
// (its `dropped` field says how many events it missed) and then the events after the gap.
//
//   absl::StatusOr<std::unique_ptr<WatchStream>> w = client.Watch(
//       lab, {v1::EVENT_VIOLATION}, [](const v1::Event& e) { std::puts(e.text().c_str()); });
//   ...
//   (*w)->Cancel();
//   absl::Status end = (*w)->Wait();   // OK: ended by Cancel()
//
// The callback must not block for long (it holds up the stream) and must not destroy the
// WatchStream. It is never called once Wait() or WaitFor() has reported the end.
#ifndef PPSIM_CLIENT_LIB_WATCH_H_
#define PPSIM_CLIENT_LIB_WATCH_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ppsim/v1/service.grpc.pb.h"

namespace ppsim::client {

class WatchStream {
 public:
  using Callback = std::function<void(const v1::Event&)>;

  // Starts the call on `stub` (Client::Watch is the usual way in).
  WatchStream(v1::QueryService::Stub* stub, const v1::WatchRequest& request, Callback on_event);
  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;
  // Cancels and waits for the stream to end.
  ~WatchStream();

  // Ends the stream; safe from any thread, the callback included, and more than once.
  void Cancel();

  // Waits for the end of the stream and returns its status: OK when Cancel() ended it,
  // otherwise the server's (or the transport's) status.
  absl::Status Wait();
  // Waits at most `timeout`; true once the stream has ended (Wait() then returns at once).
  bool WaitFor(absl::Duration timeout);

  // Events delivered so far.
  uint64_t events() const;

 private:
  class Reactor;
  std::unique_ptr<Reactor> reactor_;
};

}  // namespace ppsim::client

#endif  // PPSIM_CLIENT_LIB_WATCH_H_
