#pragma once
// RegisteredName: a process named by the name it is registered under on a node, {Name, Node}.

#include "ambitious/core/atom.hpp"

namespace ambitious {

/// A process named by the name it is registered under on a node: Erlang's {Name, Node}. A value
/// type, any thread.
struct RegisteredName {
  Atom name;  ///< the name
  Atom node;  ///< the node it is registered on
  friend bool operator==(const RegisteredName&, const RegisteredName&) = default;
};

}  // namespace ambitious
