#pragma once
// std::chrono's durations, time points and clocks (and std::chrono_literals), for the headers
// that take timeouts and intervals.
//
// Why not <chrono> itself: in C++20 mode libstdc++'s <chrono> brings <sstream> (for the calendar
// and time zone I/O), and with it streams and locales, which the library's headers never use.
// That was 7 % of what a file including the umbrella header cost to compile (clang 16: 0.32 G of
// 4.79 G instructions). The parts used here are in libstdc++'s <bits/chrono.h>, which it made
// for this purpose (its <mutex>, <condition_variable> and <future> include that instead of
// <chrono>). Other standard libraries get <chrono>. A file that formats or parses times
// includes <chrono> itself.

// <version> tells which standard library this is (it defines __GLIBCXX__ for libstdc++) and
// brings nothing else.
#include <version>

#if defined(__GLIBCXX__) && __has_include(<bits/chrono.h>)
#include <bits/chrono.h>
#else
#include <chrono>
#endif
