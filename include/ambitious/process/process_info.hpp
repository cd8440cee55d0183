#pragma once
// Introspection: process_info, processes(), process_count().

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious {

/// An item process_info can ask for alone (OTP's process_info/2 items; `message_types` stands for
/// `messages`: the C++ type of each queued message, not the message).
enum class InfoItem : std::uint16_t {
  status = 1 << 0,
  message_queue_len = 1 << 1,  ///< O(1), whatever the queue's length
  message_types = 1 << 2,      ///< O(queue length): a string per queued message
  links = 1 << 3,
  monitors = 1 << 4,
  monitored_by = 1 << 5,
  registered_name = 1 << 6,
  trap_exit = 1 << 7,
};

/// A set of items: `InfoItem::message_queue_len | InfoItem::status`.
class InfoItems {
 public:
  /// No item: the answer only says whether the process is alive.
  constexpr InfoItems() noexcept = default;
  /// The one item `item`.
  constexpr InfoItems(InfoItem item) noexcept : bits_(static_cast<std::uint16_t>(item)) {}
  /// Every item (process_info/1).
  static constexpr InfoItems all() noexcept { return from_bits((1u << 8) - 1); }
  /// The items of the bit mask `bits` (as bits() gives it).
  static constexpr InfoItems from_bits(unsigned bits) noexcept {
    InfoItems s;
    s.bits_ = static_cast<std::uint16_t>(bits & ((1u << 8) - 1));
    return s;
  }
  /// True when `item` is in the set.
  constexpr bool contains(InfoItem item) const noexcept {
    return (bits_ & static_cast<std::uint16_t>(item)) != 0;
  }
  /// The set as a bit mask, one bit per item.
  constexpr unsigned bits() const noexcept { return bits_; }
  friend constexpr InfoItems operator|(InfoItems a, InfoItems b) noexcept {
    return from_bits(a.bits_ | b.bits_);
  }
  friend constexpr bool operator==(InfoItems a, InfoItems b) noexcept = default;

 private:
  std::uint16_t bits_ = 0;
};
/// The set of the two items.
constexpr InfoItems operator|(InfoItem a, InfoItem b) noexcept {
  return InfoItems(a) | InfoItems(b);
}

/// What process_info tells of a process, as Erlang's process_info items. An answer to a
/// process_info(pid, items) holds only `items`; the other fields keep their defaults.
struct ProcessInfo {
  /// What the process was doing when it answered.
  enum class Status {
    running,   ///< running on a worker
    runnable,  ///< waiting for a worker
    waiting,   ///< waiting for a message
  };
  InfoItems items = InfoItems::all();      ///< the items this answer holds
  Status status = Status::running;         ///< what it was doing
  std::size_t message_queue_len = 0;       ///< how many messages wait in its mailbox
  std::vector<std::string> message_types;  ///< the C++ type of each queued message, in order
  std::vector<Pid> links;                  ///< the processes linked to it
  std::vector<Pid> monitors;               ///< processes this one monitors
  std::vector<Pid> monitored_by;           ///< processes monitoring this one
  std::optional<Atom> registered_name;     ///< its name in the local name table, if any
  bool trap_exit = false;                  ///< whether it traps exits
};

/// Asks `pid` about itself: every item (OTP's process_info/1). Like OTP's, the request is a
/// signal: it is answered when the process next handles signals (at once if it waits in
/// receive), after the messages the caller sent before it. Empty if `pid` is dead.
Task<std::optional<ProcessInfo>> process_info(Pid pid);

/// Asks `pid` for `items` only (OTP's process_info/2): `process_info(pid,
/// InfoItem::message_queue_len)` costs the same for a queue of ten messages or ten million.
/// Empty if `pid` is dead.
Task<std::optional<ProcessInfo>> process_info(Pid pid, InfoItems items);

/// Every live local process.
std::vector<Pid> processes();

/// How many local processes are alive.
std::size_t process_count() noexcept;

}  // namespace ambitious
