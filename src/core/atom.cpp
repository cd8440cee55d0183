#include "ambitious/core/atom.hpp"

#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <ostream>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "utf8.hpp"

namespace ambitious {
namespace {

// Names live in chunks that are never freed or moved, so name() needs no lock: a reader only
// ever holds indices of atoms whose creation happened before it (it was handed the Atom).
constexpr std::uint32_t chunk_bits = 12;
constexpr std::uint32_t chunk_size = 1u << chunk_bits;
constexpr std::uint32_t chunk_count = Atom::max_atoms / chunk_size;

// Outside the table (constant-initialized, no guard to check) for name(), the hot reader.
constinit std::array<std::atomic<std::string_view*>, chunk_count> chunks{};
// How many atoms name() may read: an entry is written before this count covers it (release).
// A predefined atom is a constant any thread may name with no other synchronisation, even
// while another thread is still building the table: its chunk may already be published while
// its entry is not yet written, so name() checks the count, not only the chunk.
constinit std::atomic<std::uint32_t> named{0};

struct Table {
  std::mutex mutex;  // guards `index`, `size` growth and the arena
  std::unordered_map<std::string_view, std::uint32_t> index;
  std::atomic<std::uint32_t> size{0};
  char* arena = nullptr;
  std::size_t arena_left = 0;

  Table() {
    for (auto name : atoms::predefined) insert(name);
  }

  // Caller holds `mutex` (or is the constructor).
  std::uint32_t insert(std::string_view name) {
    if (name.size() > arena_left) {
      std::size_t bytes = std::max<std::size_t>(64 * 1024, name.size());
      arena = new char[bytes];  // never freed: atoms live as long as the program
      arena_left = bytes;
    }
    if (!name.empty()) std::memcpy(arena, name.data(), name.size());  // '' may meet a null arena
    std::string_view stored(arena, name.size());
    arena += name.size();
    arena_left -= name.size();

    std::uint32_t i = size.load(std::memory_order_relaxed);
    auto& chunk = chunks[i >> chunk_bits];
    if (!chunk.load(std::memory_order_relaxed)) chunk.store(new std::string_view[chunk_size]);
    chunk.load(std::memory_order_relaxed)[i & (chunk_size - 1)] = stored;
    index.emplace(stored, i);
    size.store(i + 1, std::memory_order_release);
    named.store(i + 1, std::memory_order_release);
    return i;
  }
};

Table& table() {
  static Table* t = new Table;  // never destroyed: atoms may be used during static destruction
  return *t;
}

// Counts code points; false when `s` is not valid UTF-8 (overlong forms and surrogates rejected).
bool utf8_length(std::string_view s, std::size_t& chars) {
  chars = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  for (std::uint32_t cp; p < end; ++chars)
    if (!detail::next_code_point(p, end, cp)) return false;
  return true;
}

}  // namespace

std::string_view to_string(AtomError e) noexcept {
  switch (e) {
    case AtomError::too_long:
      return "atom name longer than 255 characters";
    case AtomError::invalid_utf8:
      return "atom name is not valid UTF-8";
    case AtomError::table_full:
      return "atom table full";
  }
  return "unknown atom error";
}

Atom::Atom(std::string_view name) {
  auto made = make(name);
  if (!made) throw std::invalid_argument(std::string(to_string(made.error())));
  *this = *made;
}

std::expected<Atom, AtomError> Atom::make(std::string_view name) noexcept {
  std::size_t chars;
  if (!utf8_length(name, chars)) return std::unexpected(AtomError::invalid_utf8);
  if (chars > max_chars) return std::unexpected(AtomError::too_long);
  Table& t = table();
  std::lock_guard lock(t.mutex);
  if (auto it = t.index.find(name); it != t.index.end()) return from_index(it->second);
  if (t.size.load(std::memory_order_relaxed) >= max_atoms)
    return std::unexpected(AtomError::table_full);
  try {
    return from_index(t.insert(name));
  } catch (const std::bad_alloc&) {
    return std::unexpected(AtomError::table_full);
  }
}

std::optional<Atom> Atom::existing(std::string_view name) noexcept {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  if (auto it = t.index.find(name); it != t.index.end()) return from_index(it->second);
  return std::nullopt;
}

std::uint32_t Atom::count() noexcept { return table().size.load(std::memory_order_acquire); }

std::string_view Atom::name() const noexcept {
  auto* chunk = chunks[index_ >> chunk_bits].load(std::memory_order_acquire);
  if (!chunk || index_ >= named.load(std::memory_order_acquire)) [[unlikely]] {
    // Only a predefined atom (a constant) can be named before its entry is written: table()
    // returns once the table (with every predefined atom) is made, by this thread or another.
    table();
    chunk = chunks[index_ >> chunk_bits].load(std::memory_order_acquire);
  }
  return chunk[index_ & (chunk_size - 1)];
}

std::strong_ordering operator<=>(Atom a, Atom b) noexcept {
  if (a == b) return std::strong_ordering::equal;
  // Erlang compares atoms by their text, byte by byte (UTF-8 keeps code point order).
  return a.name().compare(b.name()) <=> 0;
}

std::ostream& operator<<(std::ostream& out, Atom a) { return out << a.name(); }

}  // namespace ambitious
