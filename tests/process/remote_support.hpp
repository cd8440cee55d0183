#pragma once
// Helpers of the tests of the process layer's side of distribution: pids and refs of another
// node, and a RemoteNodes that reports each call it gets as a message to the test's process.

#include <cstdint>
#include <optional>
#include <string>

#include "ambitious/core/node.hpp"
#include "ambitious/process/detail/remote_nodes.hpp"
#include "ambitious/process/send.hpp"
#include "support.hpp"

namespace ambitious::test {

/// The node the tests' remote pids belong to.
inline const Atom other_node("other@host");

/// A pid of `other_node`, as a connection would decode it.
inline Pid remote_pid(std::uint32_t id) {
  std::uint32_t index = nodes::intern(NodeId{other_node, 7}).value();
  return Pid(index, id, 0);
}

/// A ref of `other_node`.
inline Ref remote_ref(std::uint32_t word) {
  Ref r;
  r.node_index = nodes::intern(NodeId{other_node, 7}).value();
  r.length = 3;
  r.words = {word, 1, 2, 0, 0};
  return r;
}

/// One call of the RemoteNodes interface, with its arguments (those the call has).
struct Call {
  std::string op;  ///< the member's name: "send", "link", "down", ...
  Pid from;
  Pid to;
  std::optional<RegisteredName> to_name;  ///< send_named, monitor_named, demonitor_named
  Ref ref;
  ExitReason reason;
  std::optional<Term> message;
  std::uint64_t id = 0;
  std::optional<Atom> from_name;  ///< down
};

/// A RemoteNodes that posts each call, as a Call, to `observer` (the test's process): the test
/// receives the calls in the order they were made, and can wait for one made by another process.
class Recorder final : public detail::RemoteNodes {
 public:
  Pid observer;

  void send(Pid from, Pid to, Term message) noexcept override {
    report({.op = "send", .from = from, .to = to, .message = std::move(message)});
  }
  void send_named(Pid from, const RegisteredName& to, Term message) noexcept override {
    report({.op = "send_named", .from = from, .to_name = to, .message = std::move(message)});
  }
  void send_alias(Pid from, Pid to, const Ref& alias, Term message) noexcept override {
    report(
        {.op = "send_alias", .from = from, .to = to, .ref = alias, .message = std::move(message)});
  }
  void link(Pid from, Pid to) noexcept override { report({.op = "link", .from = from, .to = to}); }
  void unlink(Pid from, Pid to, std::uint64_t id) noexcept override {
    report({.op = "unlink", .from = from, .to = to, .id = id});
  }
  void unlink_ack(Pid from, Pid to, std::uint64_t id) noexcept override {
    report({.op = "unlink_ack", .from = from, .to = to, .id = id});
  }
  void exit(Pid from, Pid to, const ExitReason& reason) noexcept override {
    report({.op = "exit", .from = from, .to = to, .reason = reason});
  }
  void exit2(Pid from, Pid to, const ExitReason& reason) noexcept override {
    report({.op = "exit2", .from = from, .to = to, .reason = reason});
  }
  void monitor(Pid from, Pid to, const Ref& ref) noexcept override {
    report({.op = "monitor", .from = from, .to = to, .ref = ref});
  }
  void monitor_named(Pid from, const RegisteredName& to, const Ref& ref) noexcept override {
    report({.op = "monitor_named", .from = from, .to_name = to, .ref = ref});
  }
  void demonitor(Pid from, Pid to, const Ref& ref) noexcept override {
    report({.op = "demonitor", .from = from, .to = to, .ref = ref});
  }
  void demonitor_named(Pid from, const RegisteredName& to, const Ref& ref) noexcept override {
    report({.op = "demonitor_named", .from = from, .to_name = to, .ref = ref});
  }
  void down(Pid from, std::optional<Atom> from_name, Pid to, const Ref& ref,
            const ExitReason& reason) noexcept override {
    report({.op = "down",
            .from = from,
            .to = to,
            .ref = ref,
            .reason = reason,
            .from_name = from_name});
  }

 private:
  void report(Call c) noexcept { post(observer, std::move(c)); }
};

/// Installs `recorder` for the calling process's runtime, reporting to the caller.
inline void install(Recorder& recorder) {
  recorder.observer = self();
  detail::install_remote_nodes(&recorder);
}

/// The next call the recorder reports; it must be `op`.
inline Task<Call> expect_call(std::string op,
                              std::source_location where = std::source_location::current()) {
  Call c = co_await expect<Call>();
  if (c.op != op)
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
        << "the call is " << c.op << ", not " << op;
  co_return c;
}

/// True when no call was reported (so far, with everything before it handled).
inline Task<bool> no_call() { co_return !(co_await receive<Call>(0ms)); }

}  // namespace ambitious::test
