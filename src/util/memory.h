// The allocator's freed memory, given back to the OS.
#pragma once

namespace crew {

// Has jemalloc (the crew binary's allocator) give back to the OS, in every arena, the freed
// pages its decay time (10 s) says are no longer worth keeping. An arena purges them itself only
// when a thread allocates from it: after a burst (long polls on pool threads, which share the
// eight arenas, then large batch creates), an arena no thread used again kept them for good (RSS
// ~100 MB where it goes back to ~40 MB with this: bench/RESULTS.md). A no-op under another
// allocator (the tests', glibc's, which trims its heap as it frees).
void DecayFreedMemory();

}  // namespace crew
