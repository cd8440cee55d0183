#include "ambitious/core/ref.hpp"

#include <atomic>
#include <ostream>

namespace ambitious {

Ref Ref::make() noexcept {
  // Each thread takes a 2^44-wide range of a 64-bit counter once, then counts without atomics.
  static std::atomic<std::uint64_t> next_range{1};
  thread_local std::uint64_t next = 0, end = 0;
  if (next == end) {
    next = next_range.fetch_add(1, std::memory_order_relaxed) << 44;
    end = next + (std::uint64_t{1} << 44);
  }
  std::uint64_t v = next++;
  Ref r;
  r.length = 3;
  // Erlang keeps 18 bits in the first word; the rest of the number goes to the next two.
  r.words[0] = static_cast<std::uint32_t>(v & 0x3FFFF);
  r.words[1] = static_cast<std::uint32_t>(v >> 18);
  r.words[2] = static_cast<std::uint32_t>(v >> 50);
  return r;
}

std::strong_ordering operator<=>(const Ref& a, const Ref& b) noexcept {
  if (a.node_index != b.node_index)
    if (auto c = a.node() <=> b.node(); c != 0) return c;
  if (auto c = a.length <=> b.length; c != 0) return c;
  for (std::uint32_t i = a.length; i-- > 0;)
    if (auto c = a.words[i] <=> b.words[i]; c != 0) return c;
  return a.creation() <=> b.creation();
}

std::string to_string(const Ref& ref) {
  std::string s = "#Ref<" + std::to_string(ref.node_index);
  for (std::uint32_t i = ref.length; i-- > 0;) s += "." + std::to_string(ref.words[i]);
  return s + ">";
}

std::ostream& operator<<(std::ostream& out, const Ref& ref) { return out << to_string(ref); }

}  // namespace ambitious
