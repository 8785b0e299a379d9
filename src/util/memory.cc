#include "util/memory.h"

#include <cstddef>

// jemalloc's control interface, resolved only when the binary links jemalloc (the crew binary:
// CMakeLists.txt, CREW_JEMALLOC; mallctl is in the archive member that defines malloc).
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen)
    __attribute__((weak));

namespace crew {

void DecayFreedMemory() {
  // "arena.<i>.decay" with i = MALLCTL_ARENAS_ALL (4096 in jemalloc.h): every arena. It purges
  // what the arena's own decay would have purged had a thread allocated from it meanwhile, no
  // more: pages freed within the last seconds stay for the next allocations.
  if (mallctl) mallctl("arena.4096.decay", nullptr, nullptr, nullptr, 0);
}

}  // namespace crew
