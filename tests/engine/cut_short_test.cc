// A large group's delete, reset, retry or resume (in batches, groups.cc) that a crash cuts short
// between two batches: the next start-up finishes it, and one after that has nothing left to do.
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/test_engine.h"

namespace crew::engine {
namespace {

class CutShortTest : public EngineTest {
 protected:
  // The next batched operation ends after its `n`th batch, as a crash there would end it; the
  // engine is then opened again as after a crash (nothing saved at a clean shutdown).
  template <typename Op>
  void CutAfterBatch(int n, Op op) {
    int batches = 0;
    options_.after_group_batch = [&batches, n] {
      if (++batches == n) throw std::runtime_error("crash");
    };
    Reopen();
    EXPECT_THROW(op(), std::runtime_error);
    options_.after_group_batch = nullptr;
    Reopen();
  }
  size_t Notes() {
    size_t n = 0;
    EXPECT_TRUE(store_
                    ->Scan(storage::Cf::kMeta, "groupop/", false,
                           [&](auto, auto) {
                             ++n;
                             return true;
                           })
                    .ok());
    return n;
  }
  std::vector<Id> MakeMany(const Id& g, int n, const std::string& channel) {
    std::vector<Id> ids;
    for (int i = 0; i < n; ++i) ids.push_back(Make(g, "t" + std::to_string(i), channel).id);
    return ids;
  }
};

// Cut short once every task was held back (parentsComplete false) and none had started over:
// they waited for good, no parent to release them, until the group was reset again by hand.
TEST_F(CutShortTest, AResetIsFinishedAtStartUp) {
  options_.group_batch = 2;
  Reopen();
  Id g = Group();
  std::vector<Id> ids = MakeMany(g, 10, "c");
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Done(Take("c")->id).ok());
  CutAfterBatch(5, [&] { (void)engine_->ResetGroup(g, 3); });  // the 5 batches of holding back
  for (const Id& id : ids) {
    Task t = Get(id);
    EXPECT_FALSE(t.is_complete);
    EXPECT_TRUE(t.parents_complete);
    EXPECT_EQ(t.remaining_attempts, 3);
  }
  int taken = 0;
  while (auto t = Take("c")) ++taken;
  EXPECT_EQ(taken, 10);
  const GroupStats s = engine_->GetGroup(g).value().stats;
  EXPECT_EQ(s.total, 10);
  EXPECT_EQ(s.complete, 0);
  EXPECT_EQ(Notes(), 0u);
  Reopen();  // (nothing left to do: the held tasks stay held by their worker)
  EXPECT_FALSE(Take("c"));
}

TEST_F(CutShortTest, ADeleteIsFinishedAtStartUp) {
  options_.group_batch = 2;
  Reopen();
  Id g = Group(), other = Group();
  std::vector<Id> ids = MakeMany(g, 9, "c");
  Task kept = Make(other, "kept", "c");
  CutAfterBatch(2, [&] { (void)engine_->DeleteGroup(g); });
  EXPECT_EQ(engine_->GetGroup(g).status().code(), Code::kNotFound);
  for (const Id& id : ids) EXPECT_EQ(engine_->GetTask(id).status().code(), Code::kNotFound);
  EXPECT_EQ(Take("c")->id, kept.id);
  EXPECT_FALSE(Take("c"));
}

TEST_F(CutShortTest, ARetryIsFinishedAtStartUp) {
  options_.group_batch = 2;
  Reopen();
  Id g = Group();
  std::vector<Id> ids;
  for (int i = 0; i < 9; ++i) {
    NewTask t = Spec("t" + std::to_string(i), "c");
    t.remaining_attempts = 1;
    t.error_delay_s = 0;
    ids.push_back(Make(g, t).id);
  }
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(Fail(Take("c")->id).ok());
  CutAfterBatch(1, [&] { (void)engine_->RetryGroup(g, 4); });
  for (const Id& id : ids) EXPECT_EQ(Get(id).remaining_attempts, 4);
}

// Tasks that became ready while their group was paused are parked; past a batch of them, a
// resume re-places them in batches after the Txn that flips the flag: cut short there, those
// not yet reached stayed parked in a group no longer paused, for good.
TEST_F(CutShortTest, AResumeIsFinishedAtStartUp) {
  options_.group_batch = 2;
  Reopen();
  Id g = Group(/*paused=*/true);
  std::vector<Id> ids = MakeMany(g, 9, "c");
  EXPECT_FALSE(Take("c"));
  CutAfterBatch(1, [&] { (void)engine_->SetGroupPaused(g, false); });
  EXPECT_FALSE(engine_->GetGroup(g).value().is_paused);
  std::vector<Id> taken;
  while (auto t = Take("c")) taken.push_back(t->id);
  EXPECT_EQ(taken, ids);
  EXPECT_EQ(Notes(), 0u);
}

// Paused again after a resume that a crash cut short: the pause stands (the start-up resumed it
// again, and handed out its tasks).
TEST_F(CutShortTest, APauseAfterAResumeCutShortStands) {
  options_.group_batch = 2;
  Reopen();
  Id g = Group(/*paused=*/true);
  MakeMany(g, 9, "c");
  options_.after_group_batch = [&] {
    ASSERT_TRUE(engine_->SetGroupPaused(g, true).ok());
    throw std::runtime_error("crash");
  };
  Reopen();
  EXPECT_THROW((void)engine_->SetGroupPaused(g, false), std::runtime_error);
  options_.after_group_batch = nullptr;
  Reopen();
  EXPECT_TRUE(engine_->GetGroup(g).value().is_paused);
  EXPECT_FALSE(Take("c"));
  EXPECT_EQ(Notes(), 0u);
}

// Two resets of one group at once, the second done while the first is under way: the second's
// end erased the note they shared, and a crash before the first's end left no note to finish it.
TEST_F(CutShortTest, EachOfTwoResetsAtOnceHasANoteOfItsOwn) {
  options_.group_batch = 2;
  Reopen();
  Id g = Group();
  std::vector<Id> ids = MakeMany(g, 10, "c");
  int calls = 0;
  bool inner = false;
  options_.after_group_batch = [&] {
    if (inner) return;
    if (++calls == 1) {  // (the first's first batch held back two tasks)
      inner = true;
      ASSERT_TRUE(engine_->ResetGroup(g, 3).ok());
      inner = false;
    }
    if (calls == 5) throw std::runtime_error("crash");  // (the first held back all of them)
  };
  Reopen();
  EXPECT_THROW((void)engine_->ResetGroup(g, 3), std::runtime_error);
  options_.after_group_batch = nullptr;
  Reopen();
  std::vector<Id> taken;
  while (auto t = Take("c")) taken.push_back(t->id);
  EXPECT_EQ(taken, ids);
  EXPECT_EQ(Notes(), 0u);
}

// An operation that ends by an error (here: its group deleted between two of its batches), not
// by a crash, erases its note: the next start-up does not do it again.
TEST_F(CutShortTest, AnOperationThatFailsErasesItsNote) {
  options_.group_batch = 2;
  Reopen();
  Id g = Group();
  MakeMany(g, 9, "c");
  bool deleted = false;
  options_.after_group_batch = [&] {
    if (deleted) return;
    deleted = true;
    ASSERT_TRUE(engine_->DeleteGroup(g).ok());
  };
  Reopen();
  EXPECT_EQ(engine_->RetryGroup(g, 4).status().code(), Code::kNotFound);
  EXPECT_EQ(Notes(), 0u);
}

// A note whose group was deleted since (or that does not parse) is dropped, not fatal.
TEST_F(CutShortTest, ANoteOfAGroupGoneSinceIsDropped) {
  options_.group_batch = 2;
  Reopen();
  Id g = Group();
  MakeMany(g, 9, "c");
  int batches = 0;
  options_.after_group_batch = [&] {
    if (++batches == 1) throw std::runtime_error("crash");
  };
  Reopen();
  EXPECT_THROW((void)engine_->RetryGroup(g, 4), std::runtime_error);
  options_.after_group_batch = nullptr;
  ASSERT_TRUE(engine_->DeleteGroup(g).ok());
  EXPECT_EQ(Notes(), 1u);  // the retry's
  Reopen();
  EXPECT_EQ(engine_->GetGroup(g).status().code(), Code::kNotFound);
  EXPECT_EQ(Notes(), 0u);
}

}  // namespace
}  // namespace crew::engine
