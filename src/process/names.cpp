// The local name table: register_name, unregister, whereis, registered.

#include "ambitious/process/names.hpp"

#include <mutex>
#include <shared_mutex>
#include <string>

#include "ambitious/process/errors.hpp"
#include "process.hpp"
#include "runtime_state.hpp"

namespace ambitious {
namespace {

detail::RuntimeState& require(const char* function) {
  if (!detail::Process::current()) throw NotInProcess(function);
  return *detail::runtime();
}

}  // namespace

void register_name(Atom name, Pid pid) {
  detail::RuntimeState& rt = require("register_name");
  auto fail = [&](const char* why) {
    throw BadArg("register_name(" + std::string(name.name()) + ", " + to_string(pid) + "): " + why);
  };
  if (name == atoms::undefined) fail("'undefined' cannot be registered");
  std::unique_lock lock(rt.names.mutex);
  if (rt.names.by_name.contains(name)) fail("the name is already registered");
  detail::Process* p = rt.table.lookup(pid);
  if (!p) fail("the process is not alive");
  // The process's exit flips this to 2 and then looks for its name under the same lock.
  std::uint8_t state = 0;
  if (!p->name_state.compare_exchange_strong(state, 1, std::memory_order_acq_rel))
    fail(state == 1 ? "the process already has a name" : "the process is not alive");
  p->name = name;
  rt.names.by_name.emplace(name, pid);
}

void unregister(Atom name) {
  detail::RuntimeState& rt = require("unregister");
  std::unique_lock lock(rt.names.mutex);
  auto it = rt.names.by_name.find(name);
  if (it == rt.names.by_name.end())
    throw BadArg("unregister(" + std::string(name.name()) + "): the name is not registered");
  if (detail::Process* p = rt.table.lookup(it->second)) {
    std::uint8_t named = 1;
    p->name_state.compare_exchange_strong(named, 0, std::memory_order_acq_rel);
  }
  rt.names.by_name.erase(it);
}

std::optional<Pid> whereis(Atom name) {
  detail::RuntimeState& rt = require("whereis");
  std::shared_lock lock(rt.names.mutex);
  auto it = rt.names.by_name.find(name);
  if (it == rt.names.by_name.end()) return std::nullopt;
  return it->second;
}

std::vector<Atom> registered() {
  detail::RuntimeState& rt = require("registered");
  std::shared_lock lock(rt.names.mutex);
  std::vector<Atom> out;
  out.reserve(rt.names.by_name.size());
  for (auto& [name, pid] : rt.names.by_name) out.push_back(name);
  return out;
}

}  // namespace ambitious
