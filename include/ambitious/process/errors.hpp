#pragma once
// The exceptions the process API throws for misuse, as Erlang raises badarg.

#include <stdexcept>
#include <string>

namespace ambitious {

/// A process-only function (send, receive, spawn, self, ...) was called outside a process.
class NotInProcess : public std::logic_error {
 public:
  /// The error for `function`, named in its message.
  explicit NotInProcess(const char* function)
      : std::logic_error(std::string("ambitious::") + function +
                         " called outside a process (run it inside ambitious::run)") {}
};

/// A bad argument, as Erlang's `badarg`: sending to a name nobody registered, registering a
/// taken name, ... Escaping a process body, it ends the process with `{exception, What}`.
class BadArg : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// The process a call names does not exist, as Erlang's `noproc` error: link() raises it when
/// the caller does not trap exits. Escaping a process body, it ends the process with
/// `{exception, What}`.
class NoProc : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ambitious
