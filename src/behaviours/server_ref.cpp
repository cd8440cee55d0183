// ServerTarget: what does not depend on a ServerRef's server type.
#include "ambitious/behaviours/server_ref.hpp"

#include "ambitious/process/detail/remote_nodes.hpp"
#include "ambitious/process/names.hpp"

namespace ambitious {

Task<bool> ViaName::claim(Pid* holder) const { co_return register_self(holder); }

}  // namespace ambitious

namespace ambitious::detail {

ServerTarget::ServerTarget(const ServerName& name) {
  if (auto* a = std::get_if<Atom>(&name))
    target_ = *a;
  else
    target_ = std::get<1>(name);
}

// A pid, the common case, is copied as it is, without the variant's visitation (half of the
// instructions of a defaulted move: a call copies and moves its ServerRef).
ServerTarget::ServerTarget(const ServerTarget& other)
    : target_(other.target_.index() == 0
                  ? decltype(target_)(std::in_place_index<0>, *std::get_if<0>(&other.target_))
                  : other.target_) {}
ServerTarget::ServerTarget(ServerTarget&& other) noexcept
    : target_(other.target_.index() == 0
                  ? decltype(target_)(std::in_place_index<0>, *std::get_if<0>(&other.target_))
                  : std::move(other.target_)) {}
ServerTarget& ServerTarget::operator=(const ServerTarget& other) = default;
ServerTarget& ServerTarget::operator=(ServerTarget&& other) noexcept = default;
ServerTarget::~ServerTarget() = default;

std::optional<Pid> ServerTarget::resolve_name() const {
  if (auto* a = std::get_if<Atom>(&target_)) return whereis(*a);
  if (auto* r = std::get_if<RegisteredName>(&target_)) {
    if (is_local_node(r->node)) return whereis(r->name);
    return std::nullopt;  // another node's name: remote() says so, call and cast go there
  }
  return std::get<2>(target_)->whereis();
}

bool ServerTarget::on_this_node(const RegisteredName& name) noexcept {
  return is_local_node(name.node);
}

Term ServerTarget::describe() const {
  if (auto* p = std::get_if<Pid>(&target_)) return Term(*p);
  if (auto* a = std::get_if<Atom>(&target_)) return Term(*a);
  if (auto* r = std::get_if<RegisteredName>(&target_)) return Term::tuple(r->name, r->node);
  return Term::tuple(atoms::via, std::get<2>(target_)->describe());
}

}  // namespace ambitious::detail
