// The API's documentation, embedded at build time (SPEC N6): docs/openapi.json, the OpenAPI 3
// document that is the one description of every route, and docs/api-docs.html, the page at
// /api-docs that renders it in the browser. Thread-safe (immutable data).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace crew::api {

std::string_view OpenApiJson();
std::string_view ApiDocsPage();
// The path templates of the document's "paths" ("/api/v1/task/{id}"), in document order.
std::vector<std::string> OpenApiPaths();

}  // namespace crew::api
