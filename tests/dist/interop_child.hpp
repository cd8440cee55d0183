#pragma once
// examples/interop_node's binary as a child process of a test (INTEROP_NODE_BINARY is its path,
// a compile definition of the tests that use it).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "erl_node.hpp"

namespace ambitious::test {

/// The interop node, started with `args` and `env` on top of this process's environment;
/// ready() once it has printed that it registered with epmd (its readiness signal).
class InteropNode {
 public:
  InteropNode(std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env)
      : child_(argv(std::move(args)), std::move(env)) {
    for (;;) {
      auto line = child_.read_line(patience);
      if (!line) break;
      if (line->starts_with("interop_node ") && line->find(" ready (port ") != std::string::npos) {
        port_ = static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(' ') + 1)));
        break;
      }
    }
  }
  bool ready() const noexcept { return port_ != 0; }
  std::uint16_t port() const noexcept { return port_; }
  ChildProcess& process() noexcept { return child_; }
  const std::string& log() const noexcept { return child_.log(); }

 private:
  static std::vector<std::string> argv(std::vector<std::string> args) {
    args.insert(args.begin(), INTEROP_NODE_BINARY);
    return args;
  }
  ChildProcess child_;
  std::uint16_t port_ = 0;
};

}  // namespace ambitious::test
