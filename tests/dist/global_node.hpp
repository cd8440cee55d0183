#pragma once
// Test support for global_test: what the test and its child nodes (global_node.cpp) share.

#include <string>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/term.hpp"
#include "ambitious/naming/global.hpp"
#include "ambitious/process/send.hpp"

namespace ambitious::test {

/// A pid as the child prints it and the test compares it: `node/id/serial`.
inline std::string pid_text(Pid p) {
  return std::string(p.node().name()) + "/" + std::to_string(p.id) + "/" + std::to_string(p.serial);
}

/// The custom resolver of the tests, registered as `keep_larger` on every node: keeps the
/// larger pid and tells the other `{lost, Name}`.
inline Pid keep_larger(const Term& name, Pid a, Pid b) {
  Pid lose = a < b ? a : b;
  send(lose, Term::tuple(Atom("lost"), name));
  return a < b ? b : a;
}

}  // namespace ambitious::test
