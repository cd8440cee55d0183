#pragma once
// StartOptions: how a server is started (its name, how long its init may take).

#include <optional>

#include "ambitious/behaviours/server_ref.hpp"
#include "ambitious/process/timeout.hpp"

namespace ambitious {

/// How start/start_link start a server (OTP's gen_server:start_link options).
struct StartOptions {
  std::optional<ServerName> name;  ///< registered before init; taken: {already_started, Pid}
  Timeout timeout = infinity;      ///< init must finish in time, else the server is killed
};

namespace detail {
/// The argument of the start_link overload that GenServer<S> declares for server_child to find:
/// a server type that declares a start_link of its own hides it.
struct InheritedStartLink {};
}  // namespace detail

}  // namespace ambitious
