#pragma once
// The mailbox's unit: a message or a signal, allocated once and moved by pointer.

#include <cstddef>
#include <cstdint>
#include <new>
#include <string_view>
#include <utility>

#include "ambitious/core/codec.hpp"
#include "ambitious/core/term.hpp"

namespace ambitious::detail {

void* allocate_frame(std::size_t size);
void free_frame(void* p, std::size_t size) noexcept;

struct Message;

/// A set of message types that a behaviour's loop tells apart with one compare and dispatches
/// with one switch on their index (GenServer: the calls and casts of one server type). Its
/// address is its identity.
struct MessageFamily {
  std::string_view (*name)() noexcept;  ///< for reports
};

/// Identifies a message's C++ type (by the address of its descriptor) and how to destroy it.
struct MessageType {
  enum Kind : unsigned char { user, signal };
  Kind kind;
  void (*destroy)(Message*) noexcept;
  std::string_view (*name)() noexcept;
  const MessageFamily* family = nullptr;  ///< the family this type belongs to, if any
  std::uint16_t family_index = 0;         ///< its place in the family
  /// The message's value as a term, by its Codec, for a process of another node; null for a
  /// type without a Codec (such a message cannot leave the node).
  using ToTerm = Term (*)(const Message&);
  ToTerm to_term = nullptr;
};

/// The family a message type belongs to, and its index there: none, unless a specialization
/// says so (a behaviour specializes it for its own message types).
template <class T>
struct message_family {
  static constexpr const MessageFamily* family = nullptr;
  static constexpr std::uint16_t index = 0;
};

/// The header of every mailbox entry; the value follows it in an Envelope.
struct Message {
  Message* next = nullptr;  ///< inbox stack link, then private-queue link (owner only)
  const MessageType* type;
  explicit Message(const MessageType* t) noexcept : type(t) {}
};

/// The `X` of a signature "... [with T = X; ...]" (g++) or "... [T = X]" (clang).
constexpr std::string_view type_name_in(std::string_view signature) noexcept {
  auto start = signature.find("T = ");
  if (start == std::string_view::npos) return signature;
  start += 4;
  auto end = signature.find_first_of(";]", start);
  return signature.substr(start, end - start);
}

/// The readable name of T, for process_info and error messages. Found at compile time: a
/// server records the type of each request it handles, for its crash report.
template <class T>
std::string_view type_name() noexcept {
  static constexpr std::string_view name = type_name_in(__PRETTY_FUNCTION__);
  return name;
}

template <class T>
struct Envelope final : Message {
  T value;
  template <class... A>
  explicit Envelope(const MessageType* t, A&&... args)
      : Message(t), value(std::forward<A>(args)...) {}

  static void destroy(Message* m) noexcept {
    auto* e = static_cast<Envelope*>(m);
    e->~Envelope();
    free_frame(e, sizeof(Envelope));
  }
  static Term encode(const Message& m) {
    return Codec<T>::to_term(static_cast<const Envelope&>(m).value);
  }
  static constexpr MessageType::ToTerm encoder() {
    if constexpr (Encodable<T>)
      return &Envelope::encode;
    else
      return nullptr;
  }
  static constexpr MessageType descriptor{
      MessageType::user,         &Envelope::destroy,       &type_name<T>,
      message_family<T>::family, message_family<T>::index, encoder()};
};

/// The descriptor of messages of type T: `m.type == &message_type<T>` tests a message's type.
template <class T>
inline constexpr const MessageType* message_type = &Envelope<T>::descriptor;

/// A new message holding a T built from `args`.
template <class T, class... A>
Message* make_message(A&&... args) {
  void* p = allocate_frame(sizeof(Envelope<T>));
  try {
    return new (p) Envelope<T>(message_type<T>, std::forward<A>(args)...);
  } catch (...) {
    free_frame(p, sizeof(Envelope<T>));
    throw;
  }
}

/// The value of a message known to hold a T.
template <class T>
T& value_of(Message& m) noexcept {
  return static_cast<Envelope<T>&>(m).value;
}
template <class T>
const T& value_of(const Message& m) noexcept {
  return static_cast<const Envelope<T>&>(m).value;
}

inline void destroy(Message* m) noexcept { m->type->destroy(m); }

/// Owns one message until it is handed on.
class MessagePtr {
 public:
  explicit MessagePtr(Message* m = nullptr) noexcept : m_(m) {}
  MessagePtr(MessagePtr&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  MessagePtr& operator=(MessagePtr&& o) noexcept {
    reset(std::exchange(o.m_, nullptr));
    return *this;
  }
  ~MessagePtr() { reset(); }
  Message* get() const noexcept { return m_; }
  Message* release() noexcept { return std::exchange(m_, nullptr); }
  void reset(Message* m = nullptr) noexcept {
    if (m_) destroy(m_);
    m_ = m;
  }

 private:
  Message* m_;
};

}  // namespace ambitious::detail
