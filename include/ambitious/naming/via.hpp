#pragma once
// Via names: a process named by a key of a unique Registry (Elixir's
// `{:via, Registry, {registry, key}}`), for GenServer start/call/cast and for plain processes.
//
//   co_await Room::start_link(StartOptions{.name = via(rooms, "lobby")});
//   co_await gen_server::call(ServerRef<Room>(via(rooms, "lobby")), Join{});
//   send(via(rooms, "lobby"), Hello{});     // BadArg when nobody holds the key
//
// A call to a key nobody holds fails with `noproc`, as for a local name.

#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "ambitious/behaviours/server_ref.hpp"
#include "ambitious/naming/registry.hpp"
#include "ambitious/process/errors.hpp"
#include "ambitious/process/send.hpp"

namespace ambitious {
namespace detail {

template <class K, class V>
class RegistryVia final : public ViaName {
 public:
  RegistryVia(Registry<K, V> registry, K key, V value)
      : registry_(std::move(registry)), key_(std::move(key)), value_(std::move(value)) {}

  std::optional<Pid> whereis() const override { return registry_.whereis(key_); }
  bool register_self(Pid* holder) const override {
    auto r = registry_.register_key(key_, value_);
    if (!r && holder) *holder = r.error().holder;
    return r.has_value();
  }
  Term describe() const override { return Term::tuple(registry_.name(), to_term(key_)); }

 private:
  Registry<K, V> registry_;
  K key_;
  V value_;
};

}  // namespace detail

/// The name `key` in the unique registry `registry`; a process started under it registers
/// with `value`. Throws BadArg for a duplicate registry (a name must name one process).
template <class K, class V>
std::shared_ptr<const ViaName> via(const Registry<K, V>& registry, std::type_identity_t<K> key,
                                   std::type_identity_t<V> value) {
  if (registry.keys() != Keys::unique)
    throw BadArg("via: registry " + std::string(registry.name().name()) +
                 " has duplicate keys; via names need unique keys");
  return std::make_shared<const detail::RegistryVia<K, V>>(registry, std::move(key),
                                                           std::move(value));
}
/// via(registry, key, V{}): the value is default-constructed (Elixir registers nil).
template <class K, class V>
  requires std::default_initializable<V>
std::shared_ptr<const ViaName> via(const Registry<K, V>& registry, std::type_identity_t<K> key) {
  return via(registry, std::move(key), V{});
}

/// The process holding the via name, if any.
inline std::optional<Pid> whereis(const std::shared_ptr<const ViaName>& name) {
  return name->whereis();
}

/// Claims the via name for the calling process; the error is the process holding it.
inline std::expected<void, Pid> register_name(const std::shared_ptr<const ViaName>& name) {
  Pid holder;
  if (!name->register_self(&holder)) return std::unexpected(holder);
  return {};
}

/// Sends `value` to the process holding the via name; throws BadArg when nobody does (as
/// Erlang's `send({via, Mod, Name}, Msg)` exits with badarg).
template <class T>
  requires std::is_constructible_v<std::decay_t<T>, T&&>
void send(const std::shared_ptr<const ViaName>& name, T&& value) {
  std::optional<Pid> pid = name->whereis();
  if (!pid) throw BadArg("send: no process is registered as " + name->describe().to_string());
  send(*pid, std::forward<T>(value));
}

}  // namespace ambitious
