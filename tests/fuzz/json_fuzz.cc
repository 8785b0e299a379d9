// Fuzz target: the request bodies' parsers (src/api/json_in.h) on any bytes.
//
// Every parser is given the input; each must answer a value or kInvalidArgument, never crash,
// read out of bounds or meet undefined behaviour (the sanitizers watch). The path and query
// parsers are given it as a string too.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/json_in.h"

namespace {

template <typename T>
void ExpectValueOrInvalid(const crew::Result<T>& r, const char* parser) {
  if (r.ok() || r.status().code() == crew::Code::kInvalidArgument) return;
  std::fprintf(stderr, "json_fuzz: %s answered neither a value nor kInvalidArgument: %s\n", parser,
               r.status().ToString().c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace api = crew::api;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  bool is_array = false;
  ExpectValueOrInvalid(api::ParseNewGroup(body), "ParseNewGroup");
  ExpectValueOrInvalid(api::ParseGroupUpdate(body), "ParseGroupUpdate");
  ExpectValueOrInvalid(api::ParseNewTasks(body, &is_array), "ParseNewTasks");
  ExpectValueOrInvalid(api::ParseTaskPatch(body), "ParseTaskPatch");
  ExpectValueOrInvalid(api::ParseAcquire(body), "ParseAcquire");
  ExpectValueOrInvalid(api::ParseRelease(body), "ParseRelease");
  auto batch = api::ParseReleaseBatch(body);
  ExpectValueOrInvalid(batch, "ParseReleaseBatch");
  if (batch.ok()) {
    for (const auto& item : *batch) ExpectValueOrInvalid(item.command, "ParseReleaseBatch item");
  }
  ExpectValueOrInvalid(api::ParseWorkerOnly(body), "ParseWorkerOnly");
  ExpectValueOrInvalid(api::ParseAttempts(body, 2), "ParseAttempts");
  ExpectValueOrInvalid(api::ParseOperator(body, true), "ParseOperator create");
  ExpectValueOrInvalid(api::ParseOperator(body, false), "ParseOperator update");
  ExpectValueOrInvalid(api::ParseId(body), "ParseId");
  const std::string text(body);
  ExpectValueOrInvalid(api::ParseQueryInt("limit", text, true, 10, 0), "ParseQueryInt");
  return 0;
}
