#pragma once
// Signals: what processes send each other besides messages, through the same inbox so that a
// signal and a message from one sender arrive in the order they were sent (as in OTP).

#include <cstdint>
#include <optional>

#include "ambitious/core/pid.hpp"
#include "ambitious/core/ref.hpp"
#include "ambitious/process/detail/message.hpp"
#include "ambitious/process/exit_reason.hpp"

namespace ambitious::detail {

enum class SignalKind : std::uint8_t {
  exit,          ///< an exit signal: from exit/2, or a linked process's end
  link,          ///< `from` linked to the receiver
  unlink,        ///< `from` removed its link to the receiver (`seq`: a remote `from`'s unlink id)
  unlink_ack,    ///< the remote `from` acknowledged the receiver's unlink `seq`
  monitor,       ///< `from` monitors the receiver with `ref` (`name`: by that name, from a remote
                 ///< `from`, whose MONITOR_P_EXIT must name it)
  demonitor,     ///< `from` dropped its monitor `ref` on the receiver
  down,          ///< the monitored `from` ended; becomes a Down message if `ref` is still active
  timeout,       ///< the receive timer numbered `seq` fired
  info_request,  ///< `from` asks for process_info, answer tagged `ref`
  alias,         ///< `payload` is a message for the receiver, valid while `ref` is one of its
                 ///< active monitors (OTP's alias: a late call reply is dropped, not queued)
};

struct Signal : Message {
  SignalKind kind;
  Pid from;
  Ref ref;                     // monitor, demonitor, down, info_request
  ExitReason reason;           // exit, down
  bool linked = false;         // exit: sent because of a link (else by exit/2)
  std::uint16_t items = 0;     // info_request: the InfoItems asked for, as bits
  std::uint64_t seq = 0;       // timeout: the receive's number; unlink, unlink_ack: the id
  Atom name;                   // monitor, down: the name a remote process monitors by ('' none)
  Message* payload = nullptr;  // alias: owned until handed on

  static void destroy_signal(Message* m) noexcept {
    auto* s = static_cast<Signal*>(m);
    if (s->payload) destroy(s->payload);
    s->~Signal();
    free_frame(s, sizeof(Signal));
  }
  static std::string_view signal_name() noexcept { return "signal"; }
  static constexpr MessageType descriptor{MessageType::signal, &destroy_signal, &signal_name};

  Signal(SignalKind k, Pid f) noexcept : Message(&descriptor), kind(k), from(f) {}
};

inline Signal* make_signal(SignalKind kind, Pid from) {
  return new (allocate_frame(sizeof(Signal))) Signal(kind, from);
}

inline bool is_signal(const Message& m) noexcept { return m.type->kind == MessageType::signal; }

}  // namespace ambitious::detail
