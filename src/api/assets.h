// The dashboard's built files, embedded at build time (tools/embed_assets.py from ui/dist).
// The table ends with an entry whose path is nullptr; it is empty when the UI was not built.
#pragma once

#include <cstddef>

namespace crew::api {

struct Asset {
  const char* path;          // "/index.html", "/assets/index-1a2b.js", ...
  const char* content_type;  // with "; charset=utf-8" for text
  const unsigned char* data;
  size_t size;
};

extern const Asset kAssets[];

}  // namespace crew::api
