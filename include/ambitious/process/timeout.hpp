#pragma once
// Timeout: how long a receive (or a call) waits; `infinity` waits forever.

#include <cstdint>
#include <limits>

#include "ambitious/core/chrono.hpp"

namespace ambitious {

/// A wait in whole milliseconds (Erlang's resolution), or forever.
class Timeout {
 public:
  /// A wait of `d`, rounded up to whole milliseconds (0 or less: do not wait).
  template <class Rep, class Period>
  constexpr Timeout(std::chrono::duration<Rep, Period> d) noexcept
      : ms_(d.count() <= 0 ? 0
                           : static_cast<std::uint64_t>(
                                 std::chrono::ceil<std::chrono::milliseconds>(d).count())) {}
  /// Waits forever.
  static constexpr Timeout infinite() noexcept { return Timeout(forever); }

  /// True for infinity.
  constexpr bool is_infinite() const noexcept { return ms_ == forever; }
  /// The wait in milliseconds (the largest std::uint64_t for infinity).
  constexpr std::uint64_t milliseconds() const noexcept { return ms_; }
  friend constexpr bool operator==(Timeout, Timeout) = default;

 private:
  static constexpr std::uint64_t forever = std::numeric_limits<std::uint64_t>::max();
  explicit constexpr Timeout(std::uint64_t ms) noexcept : ms_(ms) {}
  std::uint64_t ms_;
};

/// Waits forever: `receive<T>(infinity)`.
inline constexpr Timeout infinity = Timeout::infinite();

}  // namespace ambitious
