#pragma once
// ServerRef: how a client names a server — a pid, a local name, a via name, or {Name, Node}.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/term.hpp"
#include "ambitious/process/names.hpp"  // whereis: users of this header have always had it
#include "ambitious/process/registered_name.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious {

/// A name kept by some registry other than the local name table (Erlang's {via, Module, Name}):
/// the registry says who holds it and lets a process claim it. Implemented by Registry (at once)
/// and by global names (which ask the cluster's leader, so their claim waits).
class ViaName {
 public:
  virtual ~ViaName() = default;
  /// The pid holding the name, if any. Inside a process.
  virtual std::optional<Pid> whereis() const = 0;
  /// Claims the name for the calling process at once; false when it is taken (then `*holder`
  /// says by whom, when known). A registry whose claim must wait throws BadArg. Inside a
  /// process.
  virtual bool register_self(Pid* holder) const = 0;
  /// Claims the name for the calling process, waiting for the registry where it must (what a
  /// server started under the name does); register_self unless overridden. Inside a process.
  virtual Task<bool> claim(Pid* holder) const;
  /// The name as a term, for reports and exit reasons.
  virtual Term describe() const = 0;
};

/// The name a server is started under.
using ServerName = std::variant<Atom, std::shared_ptr<const ViaName>>;

namespace detail {
/// What a ServerRef holds, whatever the server's type: a pid, a local name or a via name. The
/// library's code that does not depend on the server type takes it (compiled once, in src/).
class ServerTarget {
 public:
  ServerTarget(Pid pid) noexcept : kind_(Kind::pid), pid_(pid) {}       // NOLINT: implicit
  ServerTarget(Atom name) noexcept : kind_(Kind::name), name_(name) {}  // NOLINT
  ServerTarget(std::shared_ptr<const ViaName> via) noexcept             // NOLINT
      : kind_(Kind::via), via_(std::move(via)) {}
  ServerTarget(const RegisteredName& name) noexcept  // NOLINT
      : kind_(Kind::registered), registered_(name) {}
  ServerTarget(const ServerName& name);  // NOLINT
  // Out of line (src/behaviours/server_ref.cpp): copy, move and destruction are compiled once,
  // not in every file that passes a ServerRef around.
  ServerTarget(const ServerTarget& other);
  ServerTarget(ServerTarget&& other) noexcept;
  ServerTarget& operator=(const ServerTarget& other);
  ServerTarget& operator=(ServerTarget&& other) noexcept;
  ~ServerTarget();

  /// The pid behind the name now, if any (a pid as it is). A pid needs no lookup.
  std::optional<Pid> resolve() const {
    if (kind_ == Kind::pid) return pid_;
    return resolve_name();
  }
  std::optional<Pid> pid() const noexcept {
    if (kind_ == Kind::pid) return pid_;
    return std::nullopt;
  }
  /// The {Name, Node}, if this target was made from one.
  const RegisteredName* registered_name() const noexcept {
    return kind_ == Kind::registered ? &registered_ : nullptr;
  }
  /// True when the server is on another node: a pid of another node, or {Name, Node} with
  /// another node's name.
  bool remote() const noexcept {
    if (kind_ == Kind::pid) return !pid_.is_local();
    if (kind_ == Kind::registered) return !on_this_node(registered_);
    return false;  // a local or via name
  }
  /// The pid, the name, {via, Name}, or {Name, Node}.
  Term describe() const;

 private:
  std::optional<Pid> resolve_name() const;
  static bool on_this_node(const RegisteredName& name) noexcept;
  void copy_from(const ServerTarget& other) noexcept;
  void move_from(ServerTarget&& other) noexcept;
  void destroy() noexcept;
  // One of four, tagged by hand: a std::variant here cost every file that includes this header
  // the variant's instantiation.
  enum class Kind : std::uint8_t { pid, name, via, registered };
  Kind kind_;
  union {
    Pid pid_;
    Atom name_;
    std::shared_ptr<const ViaName> via_;
    RegisteredName registered_;
  };
};
}  // namespace detail

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
  ServerRef(const ServerName& name) : target_(name) {}

  /// The pid behind the name now, if any (a pid is returned as it is, alive or not).
  std::optional<Pid> resolve() const { return target_.resolve(); }
  /// The pid, if this ref was made from one.
  std::optional<Pid> pid() const noexcept { return target_.pid(); }
  /// The {Name, Node}, if this ref was made from one.
  const RegisteredName* registered_name() const noexcept { return target_.registered_name(); }
  /// True when the server is on another node: a pid of another node, or {Name, Node} with
  /// another node's name.
  bool remote() const noexcept { return target_.remote(); }
  /// As a term: the pid, the name, {via, Name}, or {Name, Node}.
  Term describe() const { return target_.describe(); }
  /// The pid or name without the server's type, for the library's type-independent code.
  const detail::ServerTarget& target() const noexcept { return target_; }

 private:
  detail::ServerTarget target_;
};

}  // namespace ambitious
