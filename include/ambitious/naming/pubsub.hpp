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
// broadcast() and broadcast_from() also require a Codec for the message: they are the
// cluster-wide operations, and when distribution comes they will also forward the message, as
// a term, to the PubSub of the same name on every connected node, with no change to this API.
// Today they deliver to the local subscribers only, as local_broadcast() always will.

#include <expected>
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
    deliver(topic, msg, Pid());
  }
  /// broadcast() to every subscriber but `from` (usually the caller, self()).
  template <Broadcastable T>
  void broadcast_from(Pid from, std::string_view topic, const T& msg) const {
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

 private:
  explicit PubSub(Subscriptions r) noexcept : subscriptions_(std::move(r)) {}
  static Task<StartChildResult> start_as_child(Atom name, unsigned partitions);

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
};

}  // namespace ambitious
