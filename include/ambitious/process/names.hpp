#pragma once
// The local name table: register, unregister, whereis.

#include <optional>
#include <vector>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/pid.hpp"

namespace ambitious {

/// Registers `pid` (a live local process) as `name`. Throws BadArg when the name is taken, the
/// process already has a name, or the process is dead (as Erlang's register/2 raises badarg).
/// The name is released when the process ends.
void register_name(Atom name, Pid pid);

/// Removes `name`; throws BadArg when it is not registered.
void unregister(Atom name);

/// The pid registered as `name`, if any.
std::optional<Pid> whereis(Atom name);

/// Every registered name.
std::vector<Atom> registered();

}  // namespace ambitious
