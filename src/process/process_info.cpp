// Introspection: process_info, processes, process_count.

#include "ambitious/process/process_info.hpp"

#include "ambitious/process/errors.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/receive.hpp"
#include "info_reply.hpp"
#include "process.hpp"
#include "runtime_state.hpp"

namespace ambitious {

namespace {

Task<std::optional<ProcessInfo>> ask_for_info(Pid pid, InfoItems items) {
  detail::Process* me = detail::Process::current();
  Ref ref = make_ref();
  detail::Signal* s = detail::make_signal(detail::SignalKind::info_request, me->pid);
  s->ref = ref;
  s->items = static_cast<std::uint16_t>(items.bits());
  detail::deliver_message(pid, s);
  auto reply = co_await receive_if<detail::InfoReply>([ref](const detail::InfoReply& r) {
                 return r.ref == ref;
               }).since(ref);
  co_return std::move(reply.info);
}

}  // namespace

Task<std::optional<ProcessInfo>> process_info(Pid pid) {
  return process_info(pid, InfoItems::all());
}

Task<std::optional<ProcessInfo>> process_info(Pid pid, InfoItems items) {
  // Checked here, not in the lazy coroutine, so that misuse fails at the call.
  if (!detail::Process::current()) throw NotInProcess("process_info");
  return ask_for_info(pid, items);
}

std::vector<Pid> processes() {
  if (!detail::Process::current()) throw NotInProcess("processes");
  std::vector<Pid> out;
  detail::runtime()->table.for_each([&](detail::Process* p) { out.push_back(p->pid); });
  return out;
}

std::size_t process_count() noexcept {
  detail::RuntimeState* rt = detail::runtime();
  return rt ? rt->table.count() : 0;
}

}  // namespace ambitious
