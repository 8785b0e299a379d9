// A large group's delete, reset, retry or resume (in batches, groups.cc) that a crash cuts short
// between two batches: the next start-up finishes it, and one after that has nothing left to do.
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/test_engine.h"

namespace crew::engine {
namespace {

class CutShortTest : public EngineTest {
 protected:
  void SetUp() override {
    options_.group_batch = 2;  // (batches of 2 tasks: a group of 9 goes in several)
    EngineTest::SetUp();
  }
  // Runs op with `hook` called after each of its batches (and of any other operation's, until the
  // next Reopen); the hook throws where a crash would end it. The engine is left open: a Reopen,
  // as after a crash, saves nothing.
  template <typename Op>
  void CutShort(std::function<void()> hook, Op op) {
    options_.after_group_batch = std::move(hook);
    Reopen();
    EXPECT_THROW(op(), std::runtime_error);
    options_.after_group_batch = nullptr;
  }
  // The operation ends after its `n`th batch; the engine is opened again as after a crash.
  template <typename Op>
  void CutAfterBatch(int n, Op op) {
    int batches = 0;
    CutShort(
        [&batches, n] {
          if (++batches == n) throw std::runtime_error("crash");
        },
        op);
    Reopen();
  }
  // n tasks of group g in channel c, each as `shape` makes it.
  std::vector<Id> MakeShaped(const Id& g, int n, const std::function<void(NewTask&)>& shape) {
    std::vector<Id> ids;
    for (int i = 0; i < n; ++i) {
      NewTask t = Spec("t" + std::to_string(i), "c");
      shape(t);
      ids.push_back(Make(g, t).id);
    }
    return ids;
  }
  // n tasks of one attempt, failed (out of attempts).
  std::vector<Id> MakeFailed(const Id& g, int n) {
    std::vector<Id> ids = MakeShaped(g, n, [](NewTask& t) {
      t.remaining_attempts = 1;
      t.error_delay_s = 0;
    });
    for (int i = 0; i < n; ++i) EXPECT_TRUE(Fail(Take("c")->id).ok());
    return ids;
  }
  // Completes channel c's tasks (10 of group g), then resets g, cut short after its 12th batch:
  // 5 batches hold the 10 back, 5 reopen them, then each counts 2 (which lets them go). Before
  // the cut, the 2 let go are done again, and `meanwhile` runs.
  void CutResetAfterTwoStartedOver(const Id& g, const std::function<void()>& meanwhile = nullptr) {
    for (const Id& id : TakeAll("c")) ASSERT_TRUE(Done(id).ok());
    int batches = 0;
    CutShort(
        [&] {
          if (++batches == 11) {
            for (const Id& id : TakeAll("c")) ASSERT_TRUE(Done(id).ok());
            if (meanwhile) meanwhile();
          }
          if (batches == 12) throw std::runtime_error("crash");
        },
        [&] { (void)engine_->ResetGroup(g, 3); });
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
};

// Cut short once every task was held back (parentsComplete false) and none had started over:
// they waited for good, no parent to release them, until the group was reset again by hand.
TEST_F(CutShortTest, AResetIsFinishedAtStartUp) {
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
  EXPECT_EQ(TakeAll("c").size(), 10u);
  const GroupStats s = engine_->GetGroup(g).value().stats;
  EXPECT_EQ(s.total, 10);
  EXPECT_EQ(s.complete, 0);
  EXPECT_EQ(Notes(), 0u);
  Reopen();  // (nothing left to do: the held tasks stay held by their worker)
  EXPECT_FALSE(Take("c"));
}

TEST_F(CutShortTest, ADeleteIsFinishedAtStartUp) {
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
  Id g = Group();
  std::vector<Id> ids = MakeFailed(g, 9);
  CutAfterBatch(1, [&] { (void)engine_->RetryGroup(g, 4); });
  for (const Id& id : ids) EXPECT_EQ(Get(id).remaining_attempts, 4);
}

// Tasks that became ready while their group was paused are parked; past a batch of them, a
// resume re-places them in batches after the Txn that flips the flag: cut short there, those
// not yet reached stayed parked in a group no longer paused, for good.
TEST_F(CutShortTest, AResumeIsFinishedAtStartUp) {
  Id g = Group(/*paused=*/true);
  std::vector<Id> ids = MakeMany(g, 9, "c");
  EXPECT_FALSE(Take("c"));
  CutAfterBatch(1, [&] { (void)engine_->SetGroupPaused(g, false); });
  EXPECT_FALSE(engine_->GetGroup(g).value().is_paused);
  EXPECT_EQ(TakeAll("c"), ids);
  EXPECT_EQ(Notes(), 0u);
}

// Paused again after a resume that a crash cut short: the pause stands (the start-up resumed it
// again, and handed out its tasks).
TEST_F(CutShortTest, APauseAfterAResumeCutShortStands) {
  Id g = Group(/*paused=*/true);
  MakeMany(g, 9, "c");
  CutShort(
      [&] {
        ASSERT_TRUE(engine_->SetGroupPaused(g, true).ok());
        throw std::runtime_error("crash");
      },
      [&] { (void)engine_->SetGroupPaused(g, false); });
  Reopen();
  EXPECT_TRUE(engine_->GetGroup(g).value().is_paused);
  EXPECT_FALSE(Take("c"));
  EXPECT_EQ(Notes(), 0u);
}

// Cut short after its first tasks started over and were done again: the start-up goes on from
// where the reset got (its batches mark its note), and those tasks are not reopened a second
// time (done again from the start, the reset ran them twice).
TEST_F(CutShortTest, AResetGoesOnFromWhereTheCrashCutIt) {
  Id g = Group();
  std::vector<Id> ids = MakeMany(g, 10, "c");
  CutResetAfterTwoStartedOver(g);
  Reopen();
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(Get(ids[i]).is_complete);
  EXPECT_EQ(TakeAll("c"), std::vector<Id>(ids.begin() + 2, ids.end()));
  EXPECT_EQ(engine_->GetGroup(g).value().stats.complete, 2);
  EXPECT_EQ(Notes(), 0u);
}

// The start-up's own run cut short too, before it marked its note: that note starts at the first
// run's mark, so the next start-up goes on from there, not from the start. (A group of seeds: a
// reset deletes every other task, here two made after the cut, in a batch that marks nothing.)
TEST_F(CutShortTest, AResetCutShortTwiceGoesOnFromTheFirstMark) {
  Id g = Group();
  std::vector<Id> ids = MakeShaped(g, 10, [](NewTask& t) { t.is_seed = true; });
  CutResetAfterTwoStartedOver(g, [&] { MakeMany(g, 2, "other"); });
  options_.after_group_batch = [] { throw std::runtime_error("crash"); };
  Advance(1000);  // (the start-up's note is one of its own, beside the first run's)
  EXPECT_THROW(Reopen(), std::runtime_error);  // (after the start-up's batch of deletes)
  options_.after_group_batch = nullptr;
  clock_.AdvanceMs(1000);  // (no engine open to promote anything)
  Reopen();
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(Get(ids[i]).is_complete);
  EXPECT_EQ(TakeAll("c"), std::vector<Id>(ids.begin() + 2, ids.end()));
  EXPECT_FALSE(Take("other"));
  EXPECT_EQ(Notes(), 0u);
}

// A seed made in a group while a reset that found none ran, then a crash: the start-up goes on
// as the run that found none (every task stays and starts over). It found the seed, and deleted
// every other task, those the reset had started over too.
TEST_F(CutShortTest, ASeedMadeWhileAResetRanDoesNotChangeItAtStartUp) {
  Id g = Group();
  std::vector<Id> ids = MakeMany(g, 10, "c");
  int batches = 0;
  CutShort(
      [&] {
        if (++batches == 2) {
          NewTask seed = Spec("seed", "c");
          seed.is_seed = true;
          ids.push_back(Make(g, seed).id);
        }
        if (batches == 3) throw std::runtime_error("crash");
      },
      [&] { (void)engine_->ResetGroup(g, 3); });
  Reopen();
  EXPECT_EQ(TakeAll("c"), ids);
  EXPECT_EQ(Notes(), 0u);
}

// A retry cut short after a task it gave attempts back to failed again: not retried once more.
TEST_F(CutShortTest, ARetryGoesOnFromWhereTheCrashCutIt) {
  Id g = Group();
  std::vector<Id> ids = MakeFailed(g, 9);
  int batches = 0;
  CutShort(
      [&] {
        if (++batches == 1) {
          ASSERT_TRUE(Fail(Take("c")->id).ok());  // (the first, retried)
        }
        if (batches == 2) throw std::runtime_error("crash");
      },
      [&] { (void)engine_->RetryGroup(g, 1); });
  Reopen();
  EXPECT_EQ(Get(ids[0]).remaining_attempts, 0);
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_EQ(Get(ids[i]).remaining_attempts, 1);
  EXPECT_EQ(Notes(), 0u);
}

// Two resets of one group at once, the second done while the first is under way: the second's
// end erased the note they shared, and a crash before the first's end left no note to finish it.
TEST_F(CutShortTest, EachOfTwoResetsAtOnceHasANoteOfItsOwn) {
  Id g = Group();
  std::vector<Id> ids = MakeMany(g, 10, "c");
  int calls = 0;
  bool inner = false;
  CutShort(
      [&] {
        if (inner) return;
        if (++calls == 1) {  // (the first's first batch held back two tasks)
          inner = true;
          ASSERT_TRUE(engine_->ResetGroup(g, 3).ok());
          inner = false;
        }
        if (calls == 5) throw std::runtime_error("crash");  // (the first held back all of them)
      },
      [&] { (void)engine_->ResetGroup(g, 3); });
  Reopen();
  EXPECT_EQ(TakeAll("c"), ids);
  EXPECT_EQ(Notes(), 0u);
}

// An operation that ends by an error (here: its group deleted between two of its batches), not
// by a crash, erases its note: the next start-up does not do it again.
TEST_F(CutShortTest, AnOperationThatFailsErasesItsNote) {
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
  Id g = Group();
  MakeMany(g, 9, "c");
  int batches = 0;
  CutShort(
      [&] {
        if (++batches == 1) throw std::runtime_error("crash");
      },
      [&] { (void)engine_->RetryGroup(g, 4); });
  ASSERT_TRUE(engine_->DeleteGroup(g).ok());
  EXPECT_EQ(Notes(), 1u);  // the retry's
  Reopen();
  EXPECT_EQ(engine_->GetGroup(g).status().code(), Code::kNotFound);
  EXPECT_EQ(Notes(), 0u);
}

}  // namespace
}  // namespace crew::engine
