#pragma once
// How long a test waits for something that must happen, for the tests of every layer.

#include <chrono>

namespace ambitious::test {

using namespace std::chrono_literals;

/// How long a test waits for something that must happen. Not a timing assertion: the bound only
/// makes a broken build fail the test instead of hanging it, and is far above any real wait.
inline constexpr auto patience = std::chrono::seconds(20);

}  // namespace ambitious::test
