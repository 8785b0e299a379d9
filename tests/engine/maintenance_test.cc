// Leases and heartbeats (SPEC D2).
#include "engine/test_engine.h"

namespace crew::engine {
namespace {

TEST_F(EngineTest, ExpiredLeaseFreesTheTaskAndItsDuplicates) {
  Id g = Group();
  NewTask a = Spec("a", "k");
  a.key = "same";
  a.error_delay_s = 0;
  Make(g, a);
  Task dup = Make(Group(), a);
  Task held = *Take("k", "w1");
  Advance(options_.lease_ms);
  EXPECT_EQ(Get(held.id).assigned_to, "w1") << "not yet: strictly after the lease";
  Advance(1);
  Task freed = Get(held.id);
  EXPECT_FALSE(freed.assigned_to);
  EXPECT_EQ(freed.remaining_attempts, 4);
  EXPECT_EQ(freed.errors.back(), "\"Task not completed in 60 seconds.\"");
  EXPECT_FALSE(Get(dup.id).assigned_to);
  EXPECT_EQ(Done(held.id, "w1").status().code(), Code::kConflict);
  EXPECT_TRUE(Take("k", "w2"));
}

TEST_F(EngineTest, HeartbeatKeepsTheLease) {
  Id g = Group();
  Make(g, "t", "c");
  Task held = *Take("c", "w1");
  Advance(options_.lease_ms / 2);
  ASSERT_TRUE(engine_->Heartbeat(held.id, "w1").ok());
  EXPECT_EQ(engine_->Heartbeat(held.id, "w2").status().code(), Code::kConflict);
  Advance(options_.lease_ms / 2 + 10);
  EXPECT_EQ(Get(held.id).assigned_to, "w1");
  Advance(options_.lease_ms);
  EXPECT_FALSE(Get(held.id).assigned_to);
  EXPECT_EQ(engine_->Heartbeat(held.id, "w1").status().code(), Code::kConflict);
}

TEST_F(EngineTest, CleanExpiredGroupsDeletesOnlyOldOnes) {
  Id old_group = Group();
  Make(old_group, "t", "c");
  clock_.AdvanceMs(options_.expired_group_age_ms + 1000);
  Id young = Group();
  EXPECT_EQ(engine_->CleanExpiredGroups(10).value(), 1);
  EXPECT_EQ(engine_->GetGroup(old_group).status().code(), Code::kNotFound);
  EXPECT_TRUE(engine_->GetGroup(young).ok());
}

}  // namespace
}  // namespace crew::engine
