#pragma once
// Test support for global_test: what the test and its child nodes (global_node.cpp) share.

#include <cstdint>
#include <expected>
#include <string>

#include "ambitious/behaviours/gen_server.hpp"
#include "ambitious/core/atom.hpp"
#include "ambitious/core/codec.hpp"
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

/// The server of the via test: started under global::via(name) on one node, called from
/// another. The call Add{N} (`{add, N}` on the wire) adds N to the total and answers the
/// total; the cast Bump{N} (`{bump, N}`) adds N.
struct Tally : GenServer<Tally> {
  struct Add {
    std::int64_t n;
  };
  struct Bump {
    std::int64_t n;
  };
  using calls = Types<Add>;
  using casts = Types<Bump>;
  std::int64_t total = 0;
  CallResult<std::int64_t> handle_call(Add a, const From&) { return reply(total += a.n); }
  Action handle_cast(Bump b) {
    total += b.n;
    return noreply();
  }
};

}  // namespace ambitious::test

template <>
struct ambitious::Codec<ambitious::test::Tally::Add> {
  static Term to_term(const ambitious::test::Tally::Add& a) {
    return Term::tuple(Atom("add"), a.n);
  }
  static std::expected<ambitious::test::Tally::Add, CodecError> from_term(const Term& t) {
    ambitious::test::Tally::Add a{};
    if (!t.match(Atom("add"), &a.n)) return std::unexpected(CodecError{"", "not {add, N}"});
    return a;
  }
};

template <>
struct ambitious::Codec<ambitious::test::Tally::Bump> {
  static Term to_term(const ambitious::test::Tally::Bump& b) {
    return Term::tuple(Atom("bump"), b.n);
  }
  static std::expected<ambitious::test::Tally::Bump, CodecError> from_term(const Term& t) {
    ambitious::test::Tally::Bump b{};
    if (!t.match(Atom("bump"), &b.n)) return std::unexpected(CodecError{"", "not {bump, N}"});
    return b;
  }
};
