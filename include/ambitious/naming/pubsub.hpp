#pragma once
// PubSub: topic-based publish/subscribe between processes, with Phoenix.PubSub's API, built on
// a duplicate-key Registry (topic -> subscribers).
//
//   Phoenix.PubSub                       | here (on a PubSub handle `ps`)
//   -------------------------------------|-------------------------------------------------------
//   start_link(name: N)                  | co_await PubSub::start_link(Atom("n"), partitions)
//   subscribe(ps, topic)                 | ps.subscribe(topic)
//   unsubscribe(ps, topic)               | ps.unsubscribe(topic)
//   broadcast(ps, topic, msg)            | ps.broadcast(topic, msg)
//   broadcast_from(ps, pid, topic, msg)  | ps.broadcast_from(pid, topic, msg)
//   local_broadcast(_from)               | ps.local_broadcast(topic, msg), local_broadcast_from
//
// Messages are C++ values: every subscriber receives its own copy of `msg` (receive<T>()), so
// a message must be copyable, and a broadcast to N subscribers copies it N times. To share one
// large immutable value instead, broadcast a std::shared_ptr<const T>. A process subscribed
// twice to a topic receives each message twice, as in Phoenix; subscriptions end with their
// process.
//
// Across nodes, as Phoenix.PubSub's default adapter (Phoenix.PubSub.PG2) does it, and in its
// wire form, so that an Elixir node running Phoenix.PubSub of the same name takes part. Each
// PubSub has a server process, registered as its adapter name (`'Elixir.<Name>.Adapter'`, as
// Phoenix's Module.concat(name, "Adapter"); a name that already starts with `Elixir.` gets
// `.Adapter` only), which joins the pg group of that name in the pg scope
// `'Elixir.Phoenix.PubSub'` (started on first use if nobody runs it). pg already works across
// nodes, so the group holds the server of every connected node's PubSub of the same name.
// broadcast() and broadcast_from() deliver to the local subscribers directly and send ONE
// message per remote node, to that node's server, which fans it out to its own subscribers:
//
//   {forward_to_local, Topic, Msg, 'Elixir.Phoenix.PubSub'}   Topic a binary, Msg the Codec's
//                                                               term; the atom is Phoenix's
//                                                               default dispatcher module
//   {forward_to_local, Topic, From, Msg, 'Elixir.Phoenix.PubSub'}
//                                  only to From's own node, when broadcast_from's From is a
//                                  pid of another node: its server leaves From out. Phoenix
//                                  has no such form (its broadcast_from leaves out From on
//                                  the broadcaster's node only) and ignores it.
//
// So a message needs its Codec only when a remote node has the PubSub (it is encoded once per
// broadcast, then not at all for local subscribers); local_broadcast() never leaves the node.
// Order from one broadcaster to one subscriber is kept: a local subscriber always gets the
// broadcaster's messages directly, a remote one always through its node's server, and both
// hops keep per-pair order. Without distribution nothing changes: the group has this node's
// server only. A node that goes down leaves the group (pg removes its members). The views are
// eventually consistent, as pg's: a broadcast made before pg has seen a new node's server does
// not reach that node's subscribers.

#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ambitious/behaviours/child_spec.hpp"
#include "ambitious/core/codec.hpp"
#include "ambitious/naming/registry.hpp"
#include "ambitious/process/send.hpp"

namespace ambitious {

namespace detail {
struct PubSubState;
}

/// What broadcast() accepts: a copyable value with a Codec (its form on the wire).
template <class T>
concept Broadcastable = std::copyable<T> && Encodable<T>;

/// A handle to a running PubSub: cheap to copy, usable from any process.
class PubSub {
 public:
  /// The registry a PubSub keeps its subscriptions in: topic -> (subscriber, metadata).
  using Subscriptions = Registry<std::string, Term>;

  /// Starts a PubSub named `name` with `partitions` partitions, linked to the caller.
  static Task<std::expected<PubSub, ExitReason>> start_link(Atom name, unsigned partitions = 1);
  /// A child spec that starts the PubSub with start_link(name, partitions): a PubSub in a
  /// supervision tree with no start function to write (Phoenix's `{Phoenix.PubSub, name:
  /// Name}`). Its id is `name` and its type ChildType::supervisor; processes find it with
  /// whereis(name).
  static ChildSpec child_spec(Atom name, unsigned partitions = 1);

  /// The running PubSub named `name`, if any.
  static std::optional<PubSub> whereis(Atom name);

  /// The PubSub's name.
  Atom name() const noexcept;

  /// Subscribes the calling process to `topic` (with optional metadata, as Phoenix's
  /// `metadata:` option, visible to dispatchers through subscriptions()).
  void subscribe(std::string_view topic, Term metadata = Term(atoms::undefined)) const;
  /// Removes the calling process's subscriptions to `topic`.
  void unsubscribe(std::string_view topic) const;

  /// Sends `msg` to every subscriber of `topic` (see the header comment on copies and on the
  /// cluster).
  template <Broadcastable T>
  void broadcast(std::string_view topic, const T& msg) const {
    forward(topic, Pid(), &encode<T>, &msg);
    deliver(topic, msg, Pid());
  }
  /// broadcast() to every subscriber but `from` (usually the caller, self()).
  template <Broadcastable T>
  void broadcast_from(Pid from, std::string_view topic, const T& msg) const {
    forward(topic, from, &encode<T>, &msg);
    deliver(topic, msg, from);
  }
  /// Sends `msg` to the subscribers of `topic` on this node only.
  template <std::copyable T>
  void local_broadcast(std::string_view topic, const T& msg) const {
    deliver(topic, msg, Pid());
  }
  /// local_broadcast() to every subscriber but `from`.
  template <std::copyable T>
  void local_broadcast_from(Pid from, std::string_view topic, const T& msg) const {
    deliver(topic, msg, from);
  }

  /// The subscriptions' registry (for counts, custom dispatch, and tests).
  const Subscriptions& subscriptions() const noexcept { return subscriptions_; }

  /// The pg scope the PubSub servers of every node join: `'Elixir.Phoenix.PubSub'`, Phoenix's.
  static Atom scope();
  /// The pg group of this PubSub's servers, and the registered name of this node's server:
  /// `'Elixir.Name.Adapter'` for a PubSub named `Name` (Phoenix's adapter name for that PubSub).
  Atom adapter_name() const noexcept;
  /// This node's server: the member of adapter_name() that fans out broadcasts from other nodes.
  Pid server() const noexcept;
  /// How many messages broadcasts made on this node sent to other nodes' servers (one per
  /// broadcast and remote node that has the PubSub).
  std::uint64_t remote_sends() const noexcept;
  /// How many broadcasts from other nodes this node's server has fanned out.
  std::uint64_t remote_receives() const noexcept;

 private:
  using Encode = Term (*)(const void*);
  PubSub(Subscriptions r, std::shared_ptr<detail::PubSubState> state) noexcept
      : subscriptions_(std::move(r)), state_(std::move(state)) {}
  static Task<StartChildResult> start_as_child(Atom name, unsigned partitions);

  template <class T>
  static Term encode(const void* msg) {
    return to_term(*static_cast<const T*>(msg));
  }
  // Sends the broadcast to the server of each other node in the group, encoding `msg` (with
  // `enc`) only when there is one.
  void forward(std::string_view topic, Pid from, Encode enc, const void* msg) const;

  // The registry's functions are called in src/naming/pubsub.cpp only, so that the registry
  // of strings is not instantiated in every file that includes this header.
  std::vector<Subscriptions::Entry> subscribers(std::string_view topic) const;

  template <class T>
  void deliver(std::string_view topic, const T& msg, Pid except) const {
    // As the registry's dispatch: the entries copied under the shard's lock, then sent to.
    for (const auto& s : subscribers(topic))
      if (s.pid != except) send(s.pid, msg);
  }

  Subscriptions subscriptions_;
  std::shared_ptr<detail::PubSubState> state_;
};

}  // namespace ambitious
