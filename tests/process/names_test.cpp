#include "ambitious/process/names.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "support.hpp"

using namespace ambitious;
using namespace ambitious::test;

namespace {

const Atom server("server");
const Atom other("other");

bool has(const std::vector<Atom>& names, Atom a) {
  return std::ranges::find(names, a) != names.end();
}

}  // namespace

TEST(Names, a_registered_process_is_found_by_whereis_and_reached_by_its_name) {
  std::optional<Pid> found;
  Pid p;
  int echoed = 0;
  run_test([&]() -> Task<> {
    Pid root = self();
    p = spawn([root]() -> Task<> {
      int x = co_await receive<int>();
      send(root, x + 1);
    });
    register_name(server, p);
    found = whereis(server);
    send(server, 41);
    echoed = (co_await receive<int>(patience)).value_or(0);
  });
  EXPECT_EQ(found, p);
  EXPECT_EQ(echoed, 42);
}

TEST(Names, registering_a_taken_name_throws_bad_arg) {
  std::string what;
  std::optional<Pid> holder;
  Pid first;
  run_test([&]() -> Task<> {
    first = spawn(wait_forever);
    Pid second = spawn(wait_forever);
    register_name(server, first);
    try {
      register_name(server, second);
    } catch (const BadArg& e) {
      what = e.what();
    }
    holder = whereis(server);
    send(first, Done{});
    send(second, Done{});
    co_return;
  });
  EXPECT_NE(what.find("already registered"), std::string::npos) << what;
  EXPECT_EQ(holder, first);
}

TEST(Names, a_process_with_a_name_cannot_take_a_second_one) {
  bool threw = false;
  std::vector<Atom> names;
  run_test([&]() -> Task<> {
    register_name(server, self());
    try {
      register_name(other, self());
    } catch (const BadArg&) {
      threw = true;
    }
    names = registered();
    co_return;
  });
  EXPECT_TRUE(threw);
  EXPECT_TRUE(has(names, server));
  EXPECT_FALSE(has(names, other));
}

TEST(Names, registering_a_dead_process_throws_bad_arg) {
  bool threw = false;
  run_test([&]() -> Task<> {
    auto [p, ref] = spawn_monitor([]() -> Task<> { co_return; });
    co_await receive<Down>();
    try {
      register_name(server, p);
    } catch (const BadArg&) {
      threw = true;
    }
    EXPECT_FALSE(whereis(server));
  });
  EXPECT_TRUE(threw);
}

TEST(Names, undefined_cannot_be_registered) {
  run_test([&]() -> Task<> {
    EXPECT_THROW(register_name(atoms::undefined, self()), BadArg);
    co_return;
  });
}

TEST(Names, sending_to_a_name_nobody_registered_throws_bad_arg_naming_it) {
  std::string what;
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    try {
      send(Atom("nobody_here"), 1);
    } catch (const BadArg& e) {
      what = e.what();
    }
    // Uncaught, it ends the sender as an exception does.
    spawn_monitor([]() -> Task<> {
      send(Atom("nobody_here"), 1);
      co_return;
    });
    down = co_await receive<Down>(patience);
  });
  EXPECT_NE(what.find("nobody_here"), std::string::npos) << what;
  ASSERT_TRUE(down);
  EXPECT_NE(down->reason.exception_what().find("nobody_here"), std::string_view::npos);
}

TEST(Names, a_name_is_released_when_its_process_ends) {
  std::optional<Pid> before, after;
  bool reregistered = false;
  run_test([&]() -> Task<> {
    spawn_monitor([]() -> Task<> {
      register_name(server, self());
      co_await receive<Go>();
      exit(Atom("crash"));
    });
    co_await yield();
    before = whereis(server);
    send(server, Go{});
    co_await receive<Down>(patience);
    after = whereis(server);
    register_name(server, self());
    reregistered = whereis(server) == self();
  });
  EXPECT_TRUE(before);
  EXPECT_FALSE(after);
  EXPECT_TRUE(reregistered);
}

TEST(Names, unregister_removes_the_name_and_lets_the_process_take_another) {
  std::optional<Pid> after;
  bool renamed = false;
  run_test([&]() -> Task<> {
    register_name(server, self());
    unregister(server);
    after = whereis(server);
    register_name(other, self());
    renamed = whereis(other) == self();
    co_return;
  });
  EXPECT_FALSE(after);
  EXPECT_TRUE(renamed);
}

TEST(Names, unregistering_a_name_nobody_has_throws_bad_arg) {
  run_test([&]() -> Task<> {
    EXPECT_THROW(unregister(Atom("never_registered")), BadArg);
    co_return;
  });
}

TEST(Names, an_unregistered_name_is_not_released_again_when_its_old_owner_ends) {
  // p registers `server`, unregisters it; q takes it; p's end must not remove q's name.
  std::optional<Pid> holder;
  Pid q;
  run_test([&]() -> Task<> {
    auto [p, ref] = spawn_monitor([]() -> Task<> {
      register_name(server, self());
      unregister(server);
      co_await receive<Go>();
    });
    co_await yield();
    q = spawn(wait_forever);
    register_name(server, q);
    send(p, Go{});
    co_await receive<Down>(patience);
    holder = whereis(server);
    send(q, Done{});
  });
  EXPECT_EQ(holder, q);
}

TEST(Names, registered_lists_every_name) {
  std::vector<Atom> names;
  run_test([&]() -> Task<> {
    std::vector<Pid> ps;
    for (int i = 0; i < 5; ++i) {
      ps.push_back(spawn(wait_forever));
      register_name(Atom("n" + std::to_string(i)), ps.back());
    }
    names = registered();
    for (Pid p : ps) send(p, Done{});
    co_return;
  });
  EXPECT_EQ(names.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(has(names, Atom("n" + std::to_string(i))));
}

TEST(Names, whereis_of_an_unknown_name_is_empty) {
  std::optional<Pid> found = Pid();
  run_test([&]() -> Task<> {
    found = whereis(Atom("no_such_name"));
    co_return;
  });
  EXPECT_FALSE(found);
}

TEST(Names, names_race_between_many_processes_and_exactly_one_wins_each) {
  constexpr int contenders = 50, rounds = 20;
  int wins = 0;
  run_test(four_workers, [&]() -> Task<> {
    Pid root = self();
    for (int r = 0; r < rounds; ++r) {
      Atom name("race" + std::to_string(r));
      std::vector<Pid> ps;
      for (int i = 0; i < contenders; ++i)
        ps.push_back(spawn(
            [root](Atom name) -> Task<> {
              bool won = true;
              try {
                register_name(name, self());
              } catch (const BadArg&) {
                won = false;
              }
              send(root, won);
              co_await receive<Done>();  // a winner keeps its name meanwhile
            },
            name));
      int round_wins = 0;
      for (int i = 0; i < contenders; ++i)
        round_wins += (co_await receive<bool>(patience)).value_or(false);
      wins += round_wins == 1;
      for (Pid p : ps) send(p, Done{});
    }
  });
  EXPECT_EQ(wins, rounds);
}

TEST(Names, name_functions_outside_a_process_throw_not_in_process) {
  EXPECT_THROW(register_name(server, Pid()), NotInProcess);
  EXPECT_THROW(unregister(server), NotInProcess);
  EXPECT_THROW(whereis(server), NotInProcess);
  EXPECT_THROW(registered(), NotInProcess);
  EXPECT_THROW(send(server, 1), NotInProcess);
}
