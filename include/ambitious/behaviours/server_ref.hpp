#pragma once
// ServerRef: how a client names a server — a pid, a local name, a via name, or {Name, Node}.

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/term.hpp"
#include "ambitious/process/registered_name.hpp"

namespace ambitious {

/// A name kept by some registry other than the local name table (Erlang's {via, Module, Name}):
/// the registry says who holds it and lets a process claim it. Implemented by Registry.
class ViaName {
 public:
  virtual ~ViaName() = default;
  /// The pid holding the name, if any. Inside a process.
  virtual std::optional<Pid> whereis() const = 0;
  /// Claims the name for the calling process; false when it is taken (then `*holder` says by
  /// whom, when known). Inside a process.
  virtual bool register_self(Pid* holder) const = 0;
  /// The name as a term, for reports and exit reasons.
  virtual Term describe() const = 0;
};

/// The name a server is started under.
using ServerName = std::variant<Atom, std::shared_ptr<const ViaName>>;

/// Names a server of type S: by pid, local name, via name or {Name, Node}. S is only a
/// compile-time tag that lets call() know the server's request and reply types; a server of
/// another node (a pid or a {Name, Node} there) is called with the terms the types' Codecs make.
template <class S>
class ServerRef {
 public:
  /// The server `pid`.
  ServerRef(Pid pid) noexcept : target_(pid) {}
  /// The server registered as `name`, looked up at each call.
  ServerRef(Atom name) noexcept : target_(name) {}
  /// The server holding the via name `via`, looked up at each call.
  ServerRef(std::shared_ptr<const ViaName> via) noexcept : target_(std::move(via)) {}
  /// The server registered as `name.name` on the node `name.node` (Erlang's {Name, Node}),
  /// looked up at each call: locally for this node's name, else over the distribution.
  ServerRef(const RegisteredName& name) noexcept : target_(name) {}
  /// The server started under `name` (StartOptions::name).
  ServerRef(const ServerName& name) {
    if (auto* a = std::get_if<Atom>(&name))
      target_ = *a;
    else
      target_ = std::get<1>(name);
  }

  /// The pid behind the name now, if any (a pid is returned as it is, alive or not).
  std::optional<Pid> resolve() const;
  /// The pid, if this ref was made from one.
  std::optional<Pid> pid() const noexcept {
    if (auto* p = std::get_if<Pid>(&target_)) return *p;
    return std::nullopt;
  }
  /// The {Name, Node}, if this ref was made from one.
  const RegisteredName* registered_name() const noexcept {
    return std::get_if<RegisteredName>(&target_);
  }
  /// True when the server is on another node: a pid of another node, or {Name, Node} with
  /// another node's name.
  bool remote() const noexcept;
  /// As a term: the pid, the name, {via, Name}, or {Name, Node}.
  Term describe() const {
    if (auto* p = std::get_if<Pid>(&target_)) return Term(*p);
    if (auto* a = std::get_if<Atom>(&target_)) return Term(*a);
    if (auto* r = std::get_if<RegisteredName>(&target_)) return Term::tuple(r->name, r->node);
    return Term::tuple(atoms::via, std::get<2>(target_)->describe());
  }

 private:
  std::variant<Pid, Atom, std::shared_ptr<const ViaName>, RegisteredName> target_;
};

}  // namespace ambitious

#include "ambitious/process/detail/remote_nodes.hpp"
#include "ambitious/process/names.hpp"

template <class S>
std::optional<ambitious::Pid> ambitious::ServerRef<S>::resolve() const {
  if (auto* p = std::get_if<Pid>(&target_)) return *p;
  if (auto* a = std::get_if<Atom>(&target_)) return whereis(*a);
  if (auto* r = std::get_if<RegisteredName>(&target_)) {
    if (detail::is_local_node(r->node)) return whereis(r->name);
    return std::nullopt;  // another node's name: remote() says so, call and cast go there
  }
  return std::get<2>(target_)->whereis();
}

template <class S>
bool ambitious::ServerRef<S>::remote() const noexcept {
  if (auto* p = std::get_if<Pid>(&target_)) return !p->is_local();
  if (auto* r = std::get_if<RegisteredName>(&target_)) return !detail::is_local_node(r->node);
  return false;
}
