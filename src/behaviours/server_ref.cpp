// ServerTarget: what does not depend on a ServerRef's server type.
#include "ambitious/behaviours/server_ref.hpp"

#include <new>
#include <utility>

#include "ambitious/process/detail/remote_nodes.hpp"
#include "ambitious/process/names.hpp"

namespace ambitious {

Task<bool> ViaName::claim(Pid* holder) const { co_return register_self(holder); }

}  // namespace ambitious

namespace ambitious::detail {

ServerTarget::ServerTarget(const ServerName& name) : kind_(Kind::pid), pid_() {
  if (auto* a = std::get_if<Atom>(&name)) {
    kind_ = Kind::name;
    name_ = *a;
  } else {
    kind_ = Kind::via;
    new (&via_) std::shared_ptr<const ViaName>(std::get<1>(name));
  }
}

// Pid, Atom and RegisteredName are trivially copyable: only a via name needs its constructor.
void ServerTarget::copy_from(const ServerTarget& other) noexcept {
  kind_ = other.kind_;
  switch (kind_) {
    case Kind::pid:
      new (&pid_) Pid(other.pid_);
      break;
    case Kind::name:
      new (&name_) Atom(other.name_);
      break;
    case Kind::via:
      new (&via_) std::shared_ptr<const ViaName>(other.via_);
      break;
    case Kind::registered:
      new (&registered_) RegisteredName(other.registered_);
      break;
  }
}

void ServerTarget::move_from(ServerTarget&& other) noexcept {
  if (other.kind_ != Kind::via) return copy_from(other);
  kind_ = Kind::via;
  new (&via_) std::shared_ptr<const ViaName>(std::move(other.via_));
}

void ServerTarget::destroy() noexcept {
  if (kind_ == Kind::via) via_.~shared_ptr();
}

ServerTarget::ServerTarget(const ServerTarget& other) { copy_from(other); }
ServerTarget::ServerTarget(ServerTarget&& other) noexcept { move_from(std::move(other)); }
ServerTarget& ServerTarget::operator=(const ServerTarget& other) {
  if (this != &other) {
    destroy();
    copy_from(other);
  }
  return *this;
}
ServerTarget& ServerTarget::operator=(ServerTarget&& other) noexcept {
  if (this != &other) {
    destroy();
    move_from(std::move(other));
  }
  return *this;
}
ServerTarget::~ServerTarget() { destroy(); }

std::optional<Pid> ServerTarget::resolve_name() const {
  switch (kind_) {
    case Kind::pid:
      return pid_;
    case Kind::name:
      return whereis(name_);
    case Kind::registered:
      if (is_local_node(registered_.node)) return whereis(registered_.name);
      return std::nullopt;  // another node's name: remote() says so, call and cast go there
    case Kind::via:
      return via_->whereis();
  }
  return std::nullopt;
}

bool ServerTarget::on_this_node(const RegisteredName& name) noexcept {
  return is_local_node(name.node);
}

Term ServerTarget::describe() const {
  switch (kind_) {
    case Kind::pid:
      return Term(pid_);
    case Kind::name:
      return Term(name_);
    case Kind::registered:
      return Term::tuple(registered_.name, registered_.node);
    case Kind::via:
      return Term::tuple(atoms::via, via_->describe());
  }
  return Term();
}

}  // namespace ambitious::detail
