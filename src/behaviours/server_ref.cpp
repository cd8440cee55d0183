// ServerTarget: what does not depend on a ServerRef's server type.
#include "ambitious/behaviours/server_ref.hpp"

#include "ambitious/process/names.hpp"

namespace ambitious::detail {

ServerTarget::ServerTarget(const ServerName& name) {
  if (auto* a = std::get_if<Atom>(&name))
    target_ = *a;
  else
    target_ = std::get<1>(name);
}

std::optional<Pid> ServerTarget::resolve_name() const {
  if (auto* a = std::get_if<Atom>(&target_)) return whereis(*a);
  return std::get<2>(target_)->whereis();
}

Term ServerTarget::describe() const {
  if (auto* p = std::get_if<Pid>(&target_)) return Term(*p);
  if (auto* a = std::get_if<Atom>(&target_)) return Term(*a);
  return Term::tuple(atoms::via, std::get<2>(target_)->describe());
}

}  // namespace ambitious::detail
