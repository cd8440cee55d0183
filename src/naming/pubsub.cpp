#include "ambitious/naming/pubsub.hpp"

namespace ambitious {

Task<std::expected<PubSub, ExitReason>> PubSub::start_link(Atom name, unsigned partitions) {
  auto r = co_await Subscriptions::start_link(name, Keys::duplicate, partitions);
  if (!r) co_return std::unexpected(std::move(r.error()));
  co_return PubSub(std::move(*r));
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
  return PubSub(std::move(*r));
}

Atom PubSub::name() const noexcept { return subscriptions_.name(); }

void PubSub::subscribe(std::string_view topic, Term metadata) const {
  (void)subscriptions_.register_key(std::string(topic), std::move(metadata));
}

void PubSub::unsubscribe(std::string_view topic) const {
  subscriptions_.unregister(std::string(topic));
}

std::vector<PubSub::Subscriptions::Entry> PubSub::subscribers(std::string_view topic) const {
  return subscriptions_.lookup(std::string(topic));
}

}  // namespace ambitious
