#pragma once
// What every test layer shares: how long to wait, and the runtimes the tests run on.

#include <chrono>

#include "ambitious/process/runtime.hpp"

namespace ambitious::test {

using namespace std::chrono_literals;

/// How long a test waits for something that must happen. Not a timing assertion: the bound only
/// makes a broken build fail the test instead of hanging it, and is far above any real wait.
inline constexpr auto patience = std::chrono::seconds(20);

/// A runtime with one worker: processes run one at a time, so interleavings are exact.
inline constexpr RuntimeOptions one_worker{.workers = 1};
/// Several workers, for stealing and cross-thread wake-ups.
inline constexpr RuntimeOptions two_workers{.workers = 2};
inline constexpr RuntimeOptions four_workers{.workers = 4};

}  // namespace ambitious::test
