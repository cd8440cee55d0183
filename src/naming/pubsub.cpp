// PubSub: the subscriptions (a duplicate-key registry) and the server that joins the pg group of
// the PubSub's adapter name, through which broadcasts reach other nodes (Phoenix.PubSub.PG2's
// shape and wire form; see the header comment).

#include "ambitious/naming/pubsub.hpp"

#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>

#include "ambitious/behaviours/gen_server.hpp"
#include "ambitious/naming/pg.hpp"
#include "ambitious/process/link.hpp"
#include "ambitious/process/names.hpp"

namespace ambitious {
namespace detail {

// What every handle of one running PubSub shares.
struct PubSubState {
  explicit PubSubState(Atom group) : group(group) {}
  Atom group;  // the adapter name: the pg group and the server's registered name
  Pid server;  // set before any handle exists, then read only
  std::atomic<std::uint64_t> remote_sends{0};
  std::atomic<std::uint64_t> remote_receives{0};
};

}  // namespace detail

namespace {

const Atom forward_atom("forward_to_local");

// The state of the running PubSubs by name, for whereis(): replaced by each start.
struct States {
  std::mutex mutex;
  std::unordered_map<Atom, std::shared_ptr<detail::PubSubState>> by_name;
};
States& states() {
  static States s;
  return s;
}

// Phoenix's Module.concat(name, "Adapter"): `Elixir.` in front unless the name has it.
Atom adapter_of(Atom name) {
  std::string_view n = name.name();
  std::string out = n.starts_with("Elixir.") ? std::string(n) : "Elixir." + std::string(n);
  return Atom(out + ".Adapter");
}

// The server of one PubSub on this node (Phoenix.PubSub.PG2Worker): a member of the adapter's
// pg group, registered under the adapter name, it sends the broadcasts that other nodes
// forward to the local subscribers. It lives as long as the subscriptions' registry: linked to
// it, it traps exits so that the registry's normal stop ends it too.
class Server : public GenServer<Server> {
 public:
  Server(PubSub::Subscriptions subscriptions, std::shared_ptr<detail::PubSubState> state)
      : subscriptions_(std::move(subscriptions)), state_(std::move(state)) {}

  using info = Types<Exit, Term>;

  Task<InitResult> init() {
    trap_exit(true);
    link(subscriptions_.pid());
    co_await pg::join(PubSub::scope(), Term(state_->group), self());
    co_return ok();
  }

  Action handle_info(Exit e) {
    if (e.from == subscriptions_.pid()) return stop(e.reason);
    return noreply();
  }

  // {forward_to_local, Topic, Msg, Dispatcher}, or {forward_to_local, Topic, From, Msg,
  // Dispatcher}; anything else is ignored, as Phoenix's worker does.
  Action handle_info(Term t) {
    auto el = t.elements();
    if (el.size() < 4 || el.size() > 5 || !el[0].is_atom() || el[0].as_atom() != forward_atom ||
        !el[1].is_binary())
      return noreply();
    Pid except;
    if (el.size() == 5) {
      if (!el[2].is_pid()) return noreply();
      except = el[2].as_pid();
    }
    const Term& msg = el[el.size() - 2];
    state_->remote_receives.fetch_add(1, std::memory_order_relaxed);
    for (const auto& s : subscriptions_.lookup(std::string(el[1].as_string_view())))
      if (s.pid != except) send(s.pid, msg);
    return noreply();
  }

 private:
  PubSub::Subscriptions subscriptions_;
  std::shared_ptr<detail::PubSubState> state_;
};

}  // namespace

Atom PubSub::scope() {
  static const Atom s("Elixir.Phoenix.PubSub");
  return s;
}

Task<std::expected<PubSub, ExitReason>> PubSub::start_link(Atom name, unsigned partitions) {
  auto r = co_await Subscriptions::start_link(name, Keys::duplicate, partitions);
  if (!r) co_return std::unexpected(std::move(r.error()));
  // The scope of Phoenix's application, started here when nobody runs it; not linked: other
  // PubSubs use it too (a concurrent start that lost the race is as good).
  if (!ambitious::whereis(scope())) (void)co_await pg::start(scope());
  auto state = std::make_shared<detail::PubSubState>(adapter_of(name));
  auto server = co_await Server::start(StartOptions{.name = ServerName(state->group)}, *r, state);
  if (!server) {
    (void)co_await r->stop();
    co_return std::unexpected(std::move(server.error()));
  }
  state->server = *server->pid();
  {
    std::lock_guard lock(states().mutex);
    states().by_name[name] = state;
  }
  co_return PubSub(std::move(*r), std::move(state));
}

ChildSpec PubSub::child_spec(Atom name, unsigned partitions) {
  ChildSpec spec;
  spec.id = Term(name);
  spec.type = ChildType::supervisor;
  spec.start = [name, partitions] { return start_as_child(name, partitions); };
  return spec;
}

Task<StartChildResult> PubSub::start_as_child(Atom name, unsigned partitions) {
  auto started = co_await start_link(name, partitions);
  if (!started) co_return std::unexpected(std::move(started.error()));
  co_return started->subscriptions().pid();
}

std::optional<PubSub> PubSub::whereis(Atom name) {
  auto r = Subscriptions::whereis(name);
  if (!r || r->keys() != Keys::duplicate) return std::nullopt;
  std::shared_ptr<detail::PubSubState> state;
  {
    std::lock_guard lock(states().mutex);
    auto it = states().by_name.find(name);
    if (it == states().by_name.end()) return std::nullopt;  // a plain duplicate registry
    state = it->second;
  }
  return PubSub(std::move(*r), std::move(state));
}

Atom PubSub::name() const noexcept { return subscriptions_.name(); }
Atom PubSub::adapter_name() const noexcept { return state_->group; }
Pid PubSub::server() const noexcept { return state_->server; }
std::uint64_t PubSub::remote_sends() const noexcept {
  return state_->remote_sends.load(std::memory_order_relaxed);
}
std::uint64_t PubSub::remote_receives() const noexcept {
  return state_->remote_receives.load(std::memory_order_relaxed);
}

void PubSub::subscribe(std::string_view topic, Term metadata) const {
  (void)subscriptions_.register_key(std::string(topic), std::move(metadata));
}

void PubSub::unsubscribe(std::string_view topic) const {
  subscriptions_.unregister(std::string(topic));
}

std::vector<PubSub::Subscriptions::Entry> PubSub::subscribers(std::string_view topic) const {
  return subscriptions_.lookup(std::string(topic));
}

void PubSub::forward(std::string_view topic, Pid from, Encode enc, const void* msg) const {
  std::optional<Term> wire, wire_from;
  for (Pid server : pg::get_members(scope(), Term(state_->group))) {
    if (server.is_local()) continue;
    if (!wire) {
      Term t = Term::binary(topic);
      Term m = enc(msg);
      if (!from.is_null() && !from.is_local())
        wire_from = Term::tuple(forward_atom, t, from, m, scope());
      wire = Term::tuple(forward_atom, std::move(t), std::move(m), scope());
    }
    // A remote `from` is left out by its own node's server.
    bool to_from_node = wire_from && server.node_index == from.node_index;
    send(server, to_from_node ? *wire_from : *wire);
    state_->remote_sends.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace ambitious
