// The task record (model.h): what EncodeTask writes is what DecodeTask reads back, field by
// field, and its bytes are the ones earlier builds stored (a data dir outlives the binary).
#include <gtest/gtest.h>

#include <string>

#include "engine/model.h"
#include "test_ids.h"

namespace crew::engine {
namespace {

using crew::testing::MakeId;

std::string Hex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// Every field set, with values that take several bytes as varints (and negative ones).
Task Full() {
  Task t;
  t.id = MakeId(0x0102030405060708);
  t.group_id = MakeId(42);
  t.name = "resize \"thumb\" é";
  t.channel = "images";
  t.workgroup = "account-7";
  t.key = "k";
  t.remaining_attempts = -3;
  t.parents_complete = false;
  t.is_complete = true;
  t.priority = -300;
  t.run_after = 1764000000123;
  t.progress_weight = 2.5;
  t.is_seed = true;
  t.error_delay_s = 0.25;
  t.input = R"({"url":"https://example.com/a.png"})";
  t.errors = {R"("timeout")", R"({"code":429})"};
  t.output = "[1,2]";
  t.created_at = 1764000000000;
  t.parent_ids = {MakeId(1), MakeId(2)};
  t.assigned_to = "worker-1";
  t.assigned_at = 1764000000200;
  t.execute_message_id = "m1";
  t.examine_message_id = "";
  t.pending_parents = 300;
  t.lease_expires_at = 1764000060200;
  t.placement = Placement::kDelayed;
  t.due = 1764000000500;
  return t;
}

void ExpectSameStored(const Task& a, const Task& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.group_id, b.group_id);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.channel, b.channel);
  EXPECT_EQ(a.workgroup, b.workgroup);
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.remaining_attempts, b.remaining_attempts);
  EXPECT_EQ(a.parents_complete, b.parents_complete);
  EXPECT_EQ(a.is_complete, b.is_complete);
  EXPECT_EQ(a.priority, b.priority);
  EXPECT_EQ(a.run_after, b.run_after);
  EXPECT_EQ(a.progress_weight, b.progress_weight);
  EXPECT_EQ(a.is_seed, b.is_seed);
  EXPECT_EQ(a.error_delay_s, b.error_delay_s);
  EXPECT_EQ(a.input, b.input);
  EXPECT_EQ(a.errors, b.errors);
  EXPECT_EQ(a.output, b.output);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.assigned_to, b.assigned_to);
  EXPECT_EQ(a.assigned_at, b.assigned_at);
  EXPECT_EQ(a.execute_message_id, b.execute_message_id);
  EXPECT_EQ(a.examine_message_id, b.examine_message_id);
  EXPECT_EQ(a.pending_parents, b.pending_parents);
  EXPECT_EQ(a.lease_expires_at, b.lease_expires_at);
  EXPECT_EQ(a.placement, b.placement);
  EXPECT_EQ(a.due, b.due);
}

TEST(TaskRecordTest, EveryFieldReadsBackAsWritten) {
  for (const Task& t : {Full(), Task()}) {
    Task back;
    uint32_t stored_parents = 99;
    ASSERT_TRUE(DecodeTask(EncodeTask(t), &back, &stored_parents).ok());
    ExpectSameStored(back, t);
    EXPECT_TRUE(back.parent_ids.empty());  // (version 2: the ids are EncodeParents's)
    EXPECT_EQ(stored_parents, t.parent_ids.size());
    EXPECT_FALSE(back.legacy_parents);
  }
}

TEST(TaskRecordTest, AVersion1RecordHoldsItsParentsInline) {
  Task back;
  uint32_t stored_parents = 99;
  ASSERT_TRUE(DecodeTask(EncodeTask(Full(), 1), &back, &stored_parents).ok());
  ExpectSameStored(back, Full());
  EXPECT_EQ(back.parent_ids, Full().parent_ids);
  EXPECT_EQ(stored_parents, 0u);
  EXPECT_TRUE(back.legacy_parents);
}

// The bytes as the encoder of every earlier build wrote them: a change here is a change of the
// stored format, which needs a new version number and a reader for the old one.
TEST(TaskRecordTest, TheBytesAreThoseEarlierBuildsStored) {
  EXPECT_EQ(Hex(EncodeTask(Full())),
            "0200000000010203040506070800000000000000000000002a11726573697a6520227468756d6222"
            "20c3a906696d6167657301096163636f756e742d3701016b050001d70401f6a1bfe9d66640040000"
            "00000000013fd0000000000000237b2275726c223a2268747470733a2f2f6578616d706c652e636f"
            "6d2f612e706e67227d02092274696d656f7574220c7b22636f6465223a3432397d055b312c325d80"
            "a0bfe9d666020108776f726b65722d310190a3bfe9d66601026d310100ac02d0ccc6e9d66602e8a7"
            "bfe9d666");
  EXPECT_EQ(Hex(EncodeTask(Full(), 1)),
            "0100000000010203040506070800000000000000000000002a11726573697a6520227468756d6222"
            "20c3a906696d6167657301096163636f756e742d3701016b050001d70401f6a1bfe9d66640040000"
            "00000000013fd0000000000000237b2275726c223a2268747470733a2f2f6578616d706c652e636f"
            "6d2f612e706e67227d02092274696d656f7574220c7b22636f6465223a3432397d055b312c325d80"
            "a0bfe9d666020000000000000000000000010000000000000000000000020108776f726b65722d31"
            "0190a3bfe9d66601026d310100ac02d0ccc6e9d66602e8a7bfe9d666");
  EXPECT_EQ(Hex(EncodeTask(Task())),
            "02000000000000000000000000000000000000000000000000000000000a010000003ff000000000"
            "000000403e000000000000046e756c6c00046e756c6c00000000000000000000");
}

TEST(TaskRecordTest, ATruncatedOrOverlongRecordIsCorrupt) {
  const std::string record = EncodeTask(Full());
  Task back;
  uint32_t stored_parents = 0;
  for (size_t n = 0; n < record.size(); ++n) {
    EXPECT_FALSE(DecodeTask(record.substr(0, n), &back, &stored_parents).ok()) << n;
  }
  EXPECT_FALSE(DecodeTask(record + "x", &back, &stored_parents).ok());
}

}  // namespace
}  // namespace crew::engine
