#pragma once
// name_this_thread: the name a thread of the library shows in top -H, ps -L, perf and gdb
// ("ambitious-w0" for worker 0, "ambitious-dist" for a node's distribution thread...), so that
// a profile or a scheduler trace tells the workers from the I/O threads (BEAM names its threads
// the same way: 1_scheduler, 2_dirty_cpu_scheduler...). Part of the runtime layer's interface to
// the layers above; applications do not use it.

#include <string_view>

namespace ambitious::detail {

/// Names the calling thread `name`, cut to the 15 bytes Linux keeps. Where the platform has no
/// thread names, does nothing.
void name_this_thread(std::string_view name) noexcept;

}  // namespace ambitious::detail
