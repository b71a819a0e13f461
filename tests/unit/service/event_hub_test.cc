// server/service/event_hub: fan-out to every sink, and shutdown closing sinks and refusing new
// ones (so a Watch racing with shutdown ends at once).
#include "server/service/event_hub.h"

#include "gtest/gtest.h"
#include "tests/unit/service/recording_sink.h"

namespace ppsim::service {
namespace {

TEST(EventHubTest, PublishReachesEverySubscriberUntilItUnsubscribes) {
  EventHub hub;
  testing::RecordingSink a, b;
  ASSERT_TRUE(hub.Subscribe(&a));
  ASSERT_TRUE(hub.Subscribe(&b));
  std::vector<v1::Event> events(2);
  events[0].set_seq(1);
  events[1].set_seq(2);
  hub.Publish(events);
  hub.Unsubscribe(&b);
  hub.Publish({events[0]});
  EXPECT_EQ(a.events().size(), 3u);
  EXPECT_EQ(b.events().size(), 2u);
  EXPECT_EQ(hub.subscribers(), 1u);
  hub.Unsubscribe(&a);
}

TEST(EventHubTest, CloseAllClosesSinksAndRefusesNewOnes) {
  EventHub hub;
  testing::RecordingSink before, after;
  ASSERT_TRUE(hub.Subscribe(&before));
  hub.CloseAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "bye"));
  EXPECT_TRUE(before.closed());
  EXPECT_FALSE(hub.Subscribe(&after));
  EXPECT_EQ(hub.subscribers(), 1u);
  hub.Unsubscribe(&before);
}

}  // namespace
}  // namespace ppsim::service
