// SetThreadName: names the calling thread (what `top -H`, `ps -L` and perf show), so that an
// operator can tell crew's threads apart. Linux keeps 15 bytes of it; longer names are cut.
#pragma once

#include <pthread.h>

#include <string>

namespace crew {

inline void SetThreadName(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace crew
