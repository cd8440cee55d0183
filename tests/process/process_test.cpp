#include "ambitious/process/process.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "support.hpp"

using namespace ambitious;
using namespace ambitious::test;

namespace {

// What a process body can write: `exit(x)` with the library's names in scope, as after the
// `using namespace ambitious` every example starts with.
template <class A>
concept unqualified_exit_takes = requires(A a) { exit(a); };
template <class A>
concept exit_takes = requires(A a) { ambitious::exit(a); };
template <class A>
concept exit_to_pid_takes = requires(Pid p, A a) { ambitious::exit(p, a); };

}  // namespace

// exit(0) used to pick <cstdlib>'s ::exit (an exact match, where ExitReason needs a
// conversion) and end the program from inside a process.
static_assert(!exit_takes<int>, "ambitious::exit(int) must be deleted");
static_assert(!unqualified_exit_takes<int>, "exit(0) must not compile with ambitious in scope");
static_assert(!unqualified_exit_takes<long>);
static_assert(exit_takes<Atom> && unqualified_exit_takes<Atom>);
static_assert(exit_takes<ExitReason> && unqualified_exit_takes<ExitReason>);
static_assert(exit_to_pid_takes<Atom> && exit_to_pid_takes<ExitReason>);

TEST(Process, exit_with_an_atom_or_an_exit_reason_still_ends_the_process) {
  ExitReason by_atom, by_reason;
  run_test([&]() -> Task<> {
    trap_exit(true);
    Pid a = spawn_link([]() -> Task<> {
      exit(atoms::normal);
      co_return;
    });
    Pid b = spawn_link([]() -> Task<> {
      exit(ExitReason::shutdown(Term(7)));
      co_return;
    });
    for (int i = 0; i < 2; ++i) {
      Exit e = co_await receive<Exit>();
      (e.from == a ? by_atom : by_reason) = e.reason;
      EXPECT_TRUE(e.from == a || e.from == b);
    }
  });
  EXPECT_EQ(by_atom, atoms::normal);
  EXPECT_EQ(by_reason, ExitReason::shutdown(Term(7)));
}

TEST(Process, exit_to_a_pid_still_sends_an_exit_signal) {
  ExitReason got;
  run_test([&]() -> Task<> {
    auto [p, ref] = spawn_monitor(wait_forever);
    exit(p, foo);
    got = (co_await receive<Down>()).reason;
  });
  EXPECT_EQ(got, foo);
}

TEST(Process, std_exit_is_still_reachable_by_its_full_name) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // re-executes the test: safe beside threads
  EXPECT_EXIT(std::exit(3), testing::ExitedWithCode(3), "");
}
