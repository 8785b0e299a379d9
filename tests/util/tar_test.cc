// util/tar: the archive format of crew backup / restore (SPEC N6).
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "util/tar.h"

namespace crew {
namespace {

std::string Archive(const std::map<std::string, std::string>& files) {
  std::string out;
  for (const auto& [name, data] : files) {
    out += TarFileHeader(name, data.size(), 1'700'000'000).value();
    out += data + std::string(TarPadding(data.size()), '\0');
  }
  return out + TarEnd();
}

Result<std::map<std::string, std::string>> Read(const std::string& archive) {
  std::istringstream in(archive);
  std::map<std::string, std::string> files;
  Status s = ReadTar(in, [&](const TarEntry& e) -> Result<TarSink> {
    std::string* data = &files[e.name];
    return TarSink([data](std::string_view chunk) {
      data->append(chunk);
      return Status::Ok();
    });
  });
  if (!s.ok()) return s;
  return files;
}

TEST(Tar, WrittenArchivesReadBackWhole) {
  std::map<std::string, std::string> files = {{"CURRENT", "MANIFEST-000005\n"},
                                              {"000007.sst", std::string(70'000, 'x')},
                                              {"empty", ""},
                                              {"block", std::string(kTarBlock, 'b')}};
  std::string archive = Archive(files);
  EXPECT_EQ(archive.size() % kTarBlock, 0u);
  uint64_t expected = 2 * kTarBlock;
  for (const auto& [name, data] : files) expected += TarEntrySize(data.size());
  EXPECT_EQ(archive.size(), expected);
  auto read = Read(archive);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, files);
}

TEST(Tar, DamagedOrTruncatedArchivesAreCorruption) {
  std::string archive = Archive({{"CURRENT", "x"}});
  std::string damaged = archive;
  damaged[3] = 'Z';  // inside the name: the checksum no longer matches
  EXPECT_EQ(Read(damaged).status().code(), Code::kCorruption);
  EXPECT_EQ(Read(archive.substr(0, 700)).status().code(), Code::kCorruption);
  EXPECT_EQ(Read(archive.substr(0, kTarBlock + 1)).status().code(), Code::kCorruption);
  EXPECT_EQ(Read("").status().code(), Code::kCorruption);
  EXPECT_EQ(Read(std::string(600, 'a')).status().code(), Code::kCorruption);
}

TEST(Tar, LongNamesAreRefused) {
  EXPECT_FALSE(TarFileHeader(std::string(100, 'a'), 1, 0).ok());
  EXPECT_FALSE(TarFileHeader("", 1, 0).ok());
  EXPECT_TRUE(TarFileHeader(std::string(99, 'a'), 1, 0).ok());
}

TEST(Tar, HugeSizesUseBase256) {
  const uint64_t size = (uint64_t{1} << 33) + 5;  // over the 11 octal digits of ustar
  std::string header = TarFileHeader("big", size, 0).value();
  EXPECT_EQ(static_cast<unsigned char>(header[124]), 0x80);
  std::istringstream in(header);
  uint64_t seen = 0;
  Status s = ReadTar(in, [&](const TarEntry& e) -> Result<TarSink> {
    seen = e.size;
    return TarSink();
  });
  EXPECT_EQ(seen, size);
  EXPECT_EQ(s.code(), Code::kCorruption);  // the data is not there
}

TEST(Tar, SafeNamesStayInsideTheDirectory) {
  struct Case {
    const char* name;
    bool safe;
  } cases[] = {
      {"CURRENT", true}, {"a/b.sst", true},    {"dir/", true},      {"/etc/passwd", false},
      {"../x", false},   {"a/../../x", false}, {"a/..", false},     {"./x", false},
      {"a//b", false},   {"", false},          {"a\\..\\b", false}, {"..", false},
  };
  for (const auto& c : cases) EXPECT_EQ(SafeTarName(c.name), c.safe) << c.name;
}

}  // namespace
}  // namespace crew
