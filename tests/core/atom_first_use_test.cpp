// The atom table's first use, alone in its program: several threads name predefined atoms
// (constants, no synchronisation between them) while the first of them is still making the
// table. Each must read the names whole; under TSan (CI) an entry read before it was written is
// a reported race. The test is its own binary because the table is made once per program, and a
// test that ran before would have made it.

#include <gtest/gtest.h>

#include <atomic>
#include <string_view>
#include <thread>
#include <vector>

#include "ambitious/core/atom.hpp"

using namespace ambitious;

TEST(AtomFirstUse, threads_naming_predefined_atoms_while_the_table_is_made_read_every_name) {
  constexpr int threads = 8;
  std::atomic<int> waiting{threads};
  std::atomic<int> wrong{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      // All start together, so the first names race with the making of the table.
      waiting.fetch_sub(1);
      while (waiting.load() > 0) {
      }
      const auto count = static_cast<std::uint32_t>(std::size(atoms::predefined));
      for (std::uint32_t k = 0; k < count; ++k) {
        const std::uint32_t i = (k + static_cast<std::uint32_t>(t) * 7) % count;
        if (Atom::from_index(i).name() != atoms::predefined[i]) wrong.fetch_add(1);
      }
    });
  for (auto& th : pool) th.join();
  EXPECT_EQ(wrong.load(), 0);
}
