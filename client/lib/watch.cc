#include "client/lib/watch.h"

#include <grpcpp/client_context.h>
#include <grpcpp/support/client_callback.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "client/lib/status.h"

namespace ppsim::client {

// Reads with the callback API: OnReadDone hands the event to the callback and asks for the
// next; OnDone (always the last reaction, grpc/proposal L67) records the end.
class WatchStream::Reactor final : public grpc::ClientReadReactor<v1::Event> {
 public:
  Reactor(v1::QueryService::Stub* stub, const v1::WatchRequest& request, Callback on_event)
      : request_(request), on_event_(std::move(on_event)) {
    stub->async()->Watch(&ctx_, &request_, this);
    StartRead(&event_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream is ending; OnDone follows
    on_event_(event_);
    {
      absl::MutexLock lock(&mu_);
      ++events_;
    }
    StartRead(&event_);
  }

  void OnDone(const grpc::Status& s) override {
    absl::MutexLock lock(&mu_);
    status_ = cancelled_ && s.error_code() == grpc::StatusCode::CANCELLED ? absl::OkStatus()
                                                                          : FromGrpc(s);
    done_ = true;
  }

  void Cancel() {
    {
      absl::MutexLock lock(&mu_);
      if (done_ || cancelled_) return;
      cancelled_ = true;
    }
    ctx_.TryCancel();
  }

  bool WaitFor(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&done_), timeout);
  }

  absl::Status Wait() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
    return status_;
  }

  uint64_t events() const {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  grpc::ClientContext ctx_;
  const v1::WatchRequest request_;
  const Callback on_event_;
  v1::Event event_;
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t events_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
};

WatchStream::WatchStream(v1::QueryService::Stub* stub, const v1::WatchRequest& request,
                         Callback on_event)
    : reactor_(std::make_unique<Reactor>(stub, request, std::move(on_event))) {}

WatchStream::~WatchStream() {
  reactor_->Cancel();
  (void)reactor_->Wait();
}

void WatchStream::Cancel() { reactor_->Cancel(); }
absl::Status WatchStream::Wait() { return reactor_->Wait(); }
bool WatchStream::WaitFor(absl::Duration timeout) { return reactor_->WaitFor(timeout); }
uint64_t WatchStream::events() const { return reactor_->events(); }

}  // namespace ppsim::client
