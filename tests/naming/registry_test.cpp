#include "ambitious/naming/registry.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "ambitious/behaviours/supervisor.hpp"
#include "ambitious/process/names.hpp"
#include "naming_support.hpp"

using namespace ambitious;
using namespace ambitious::test;

namespace {

using Names = Registry<std::string, int>;

// A key type with no Codec, and one with no ==.
struct NoCodec {
  int x;
  [[maybe_unused]] friend bool operator==(const NoCodec&, const NoCodec&) = default;
};
struct NoEquality {
  int x;
};

static_assert(RegistryKey<std::string> && RegistryKey<Term> && RegistryKey<Atom> &&
              RegistryKey<std::int64_t> && RegistryKey<std::tuple<Atom, int>>);
static_assert(!RegistryKey<NoCodec>, "a key type without a Codec is rejected");
static_assert(!RegistryKey<std::function<void()>>, "a key type without == or Codec is rejected");
static_assert(!RegistryKey<NoEquality>);
static_assert(!RegistryValue<NoCodec>, "a value type without a Codec is rejected");

// Registers `key` => `value` in `r`, tells `parent` Ready, and waits for Done.
Task<> hold(Names r, std::string key, int value, Pid parent) {
  auto ok = r.register_key(key, value);
  EXPECT_TRUE(ok.has_value());
  send(parent, Ready{self()});
  co_await receive<Done>();
}

Task<Pid> spawn_holder(const Names& r, std::string key, int value) {
  Pid p = spawn(hold, r, std::move(key), value, self());
  co_await receive_if<Ready>([p](const Ready& m) { return m.pid == p; }, patience);
  co_return p;
}

template <class F>
int run_with_registry(Keys keys, F body, RuntimeOptions options = one_worker,
                      unsigned partitions = 2) {
  return run(options, [&]() -> Task<> {
    auto r = co_await Names::start_link(Atom("names"), keys, partitions);
    EXPECT_TRUE(r.has_value());
    if (r) co_await body(*r);
  });
}

std::vector<Pid> pids_of(const std::vector<Names::Entry>& entries) {
  std::vector<Pid> out;
  for (const auto& e : entries) out.push_back(e.pid);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(Registry, a_unique_key_held_by_another_process_is_refused_with_already_registered_and_holder) {
  EXPECT_EQ(run_with_registry(Keys::unique,
                              [](Names r) -> Task<> {
                                Pid holder = co_await spawn_holder(r, "lobby", 1);
                                auto again = r.register_key("lobby", 2);
                                EXPECT_FALSE(again.has_value());
                                if (again.has_value()) co_return;
                                EXPECT_EQ(again.error().holder, holder);
                                EXPECT_EQ(again.error().term(),
                                          Term::tuple(Atom("already_registered"), holder));
                                auto entries = r.lookup("lobby");
                                EXPECT_EQ(entries.size(), 1u);
                                if (!(entries.size() == 1u)) co_return;
                                EXPECT_EQ(entries[0].pid, holder);
                                EXPECT_EQ(entries[0].value, 1);
                                send(holder, Done{});
                              }),
            0);
}

TEST(Registry, registering_a_unique_key_twice_names_the_caller_as_the_holder) {
  EXPECT_EQ(run_with_registry(Keys::unique,
                              [](Names r) -> Task<> {
                                EXPECT_TRUE(r.register_key("k", 1).has_value());
                                auto again = r.register_key("k", 2);
                                EXPECT_FALSE(again.has_value());
                                if (again.has_value()) co_return;
                                EXPECT_EQ(again.error().holder, self());
                                EXPECT_EQ(r.keys(self()), std::vector<std::string>{"k"});
                                EXPECT_EQ(r.values("k", self()), std::vector<int>{1});
                                EXPECT_EQ(r.count(), 1u);
                                co_return;
                              }),
            0);
}

TEST(Registry, entries_of_a_process_that_exits_are_removed) {
  EXPECT_EQ(run_with_registry(Keys::unique,
                              [](Names r) -> Task<> {
                                Pid holder = co_await spawn_holder(r, "a", 1);
                                EXPECT_EQ(r.count(), 1u);
                                co_await kill_and_wait(holder);
                                // Dead pids are never returned, cleaned up or not.
                                EXPECT_TRUE(r.lookup("a").empty());
                                EXPECT_FALSE(r.whereis("a"));
                                co_await r.sync();
                                EXPECT_EQ(r.count(), 0u);
                                EXPECT_TRUE(r.keys(holder).empty());
                                EXPECT_TRUE(r.values("a", holder).empty());
                              }),
            0);
}

TEST(Registry, entries_of_an_exited_process_are_removed_by_its_partition_on_down) {
  // Four workers: the partition runs the Down in parallel with this process; sync() then
  // proves it done whichever came first.
  EXPECT_EQ(run_with_registry(Keys::duplicate,
                              [](Names r) -> Task<> {
                                std::vector<Pid> holders;
                                for (int i = 0; i < 50; ++i)
                                  holders.push_back(
                                      co_await spawn_holder(r, "k" + std::to_string(i % 5), i));
                                EXPECT_EQ(r.count(), 50u);
                                for (int i = 0; i < 50; i += 2) co_await kill_and_wait(holders[i]);
                                co_await r.sync();
                                EXPECT_EQ(r.count(), 25u);
                                for (int i = 0; i < 50; ++i)
                                  EXPECT_EQ(r.keys(holders[i]).size(), i % 2 ? 1u : 0u);
                                for (int i = 1; i < 50; i += 2) send(holders[i], Done{});
                              }),
            0);
}

TEST(Registry, a_unique_key_of_a_holder_that_ended_can_be_taken_before_cleanup) {
  EXPECT_EQ(run_with_registry(Keys::unique,
                              [](Names r) -> Task<> {
                                Pid holder = co_await spawn_holder(r, "seat", 1);
                                co_await kill_and_wait(holder);
                                EXPECT_TRUE(r.register_key("seat", 2).has_value());
                                co_await r.sync();  // the old holder's purge leaves ours alone
                                auto entries = r.lookup("seat");
                                EXPECT_EQ(entries.size(), 1u);
                                if (!(entries.size() == 1u)) co_return;
                                EXPECT_EQ(entries[0].pid, self());
                                EXPECT_EQ(entries[0].value, 2);
                                EXPECT_EQ(r.count(), 1u);
                              }),
            0);
}

TEST(Registry, duplicate_keys_hold_every_registration_of_every_process) {
  EXPECT_EQ(
      run_with_registry(Keys::duplicate,
                        [](Names r) -> Task<> {
                          Pid a = co_await spawn_holder(r, "topic", 1);
                          Pid b = co_await spawn_holder(r, "topic", 2);
                          EXPECT_TRUE(r.register_key("topic", 3).has_value());
                          EXPECT_TRUE(r.register_key("topic", 4).has_value());
                          auto entries = r.lookup("topic");
                          EXPECT_EQ(entries.size(), 4u);
                          std::vector<Pid> expected{a, b, self(), self()};
                          std::sort(expected.begin(), expected.end());
                          EXPECT_EQ(pids_of(entries), expected);
                          EXPECT_EQ(r.keys(self()), (std::vector<std::string>{"topic", "topic"}));
                          auto mine = r.values("topic", self());
                          std::sort(mine.begin(), mine.end());
                          EXPECT_EQ(mine, (std::vector<int>{3, 4}));
                          EXPECT_EQ(r.count(), 4u);
                          r.unregister("topic");
                          EXPECT_EQ(r.count(), 2u);
                          EXPECT_TRUE(r.keys(self()).empty());
                          EXPECT_EQ(pids_of(r.lookup("topic")),
                                    (std::vector<Pid>{std::min(a, b), std::max(a, b)}));
                          send(a, Done{});
                          send(b, Done{});
                        }),
      0);
}

TEST(Registry, unregister_match_removes_only_the_callers_matching_values) {
  EXPECT_EQ(run_with_registry(Keys::duplicate,
                              [](Names r) -> Task<> {
                                for (int v : {1, 2, 3, 4}) (void)r.register_key("k", v);
                                Pid other = co_await spawn_holder(r, "k", 2);
                                r.unregister_match("k", [](int v) { return v % 2 == 0; });
                                auto mine = r.values("k", self());
                                std::sort(mine.begin(), mine.end());
                                EXPECT_EQ(mine, (std::vector<int>{1, 3}));
                                EXPECT_EQ(r.values("k", other), std::vector<int>{2});
                                EXPECT_EQ(r.keys(self()), (std::vector<std::string>{"k", "k"}));
                                EXPECT_EQ(r.count(), 3u);
                                send(other, Done{});
                              }),
            0);
}

TEST(Registry, update_value_changes_only_the_callers_own_unique_entry) {
  EXPECT_EQ(run_with_registry(Keys::unique,
                              [](Names r) -> Task<> {
                                (void)r.register_key("mine", 10);
                                auto changed = r.update_value("mine", [](int v) { return v + 1; });
                                EXPECT_TRUE(changed);
                                if (!changed) co_return;
                                EXPECT_EQ(changed->first, 11);
                                EXPECT_EQ(changed->second, 10);
                                EXPECT_EQ(r.lookup("mine")[0].value, 11);
                                Pid other = co_await spawn_holder(r, "theirs", 5);
                                EXPECT_FALSE(r.update_value("theirs", [](int) { return 0; }));
                                EXPECT_EQ(r.lookup("theirs")[0].value, 5);
                                EXPECT_FALSE(r.update_value("nobody", [](int) { return 0; }));
                                send(other, Done{});
                              }),
            0);
}

TEST(Registry, update_value_on_a_duplicate_registry_is_a_bad_argument) {
  EXPECT_EQ(run_with_registry(Keys::duplicate,
                              [](Names r) -> Task<> {
                                (void)r.register_key("k", 1);
                                EXPECT_THROW(r.update_value("k", [](int v) { return v; }), BadArg);
                                co_return;
                              }),
            0);
}

TEST(Registry, dispatch_visits_every_entry_once_and_is_not_called_for_a_missing_key) {
  EXPECT_EQ(
      run_with_registry(Keys::duplicate,
                        [](Names r) -> Task<> {
                          std::vector<Pid> holders;
                          for (int i = 0; i < 30; ++i)
                            holders.push_back(co_await spawn_holder(r, "t", i));
                          int calls = 0;
                          std::multiset<int> seen;
                          bool called = r.dispatch("t", [&](std::span<const Names::Entry> es) {
                            ++calls;
                            for (const auto& e : es) {
                              seen.insert(e.value);
                              EXPECT_EQ(holders[static_cast<std::size_t>(e.value)], e.pid);
                            }
                          });
                          EXPECT_TRUE(called);
                          EXPECT_EQ(calls, 1);
                          EXPECT_EQ(seen.size(), 30u);
                          for (int i = 0; i < 30; ++i) EXPECT_EQ(seen.count(i), 1u);
                          EXPECT_FALSE(r.dispatch("none", [&](auto) { ++calls; }));
                          EXPECT_EQ(calls, 1);
                          for (Pid p : holders) send(p, Done{});
                        }),
      0);
}

TEST(Registry, count_match_match_and_select_filter_with_predicates) {
  EXPECT_EQ(run_with_registry(
                Keys::duplicate,
                [](Names r) -> Task<> {
                  for (int v : {1, 2, 3, 4, 5}) (void)r.register_key("n", v);
                  (void)r.register_key("m", 100);
                  EXPECT_EQ(r.count_match("n", [](int v) { return v > 2; }), 3u);
                  auto odd = r.match("n", [](int v) { return v % 2 == 1; });
                  EXPECT_EQ(odd.size(), 3u);
                  for (const auto& e : odd) EXPECT_EQ(e.pid, self());
                  auto big = r.select([](const std::string&, Pid, int v) { return v >= 5; });
                  EXPECT_EQ(big.size(), 2u);
                  if (!(big.size() == 2u)) co_return;
                  std::set<std::string> keys{big[0].key, big[1].key};
                  EXPECT_EQ(keys, (std::set<std::string>{"n", "m"}));
                  EXPECT_EQ(r.count_select([](const std::string& k, Pid, int) { return k == "n"; }),
                            5u);
                  co_return;
                }),
            0);
}

TEST(Registry, meta_data_is_stored_read_and_deleted) {
  EXPECT_EQ(run_with_registry(Keys::unique,
                              [](Names r) -> Task<> {
                                EXPECT_FALSE(r.meta(Atom("custom")));
                                r.put_meta(Atom("custom"), "value");
                                r.put_meta(Term::tuple(Atom("tuple"), Atom("key")), 42);
                                EXPECT_EQ(r.meta(Atom("custom")), Term("value"));
                                EXPECT_EQ(r.meta(Term::tuple(Atom("tuple"), Atom("key"))),
                                          Term(42));
                                EXPECT_TRUE(r.delete_meta(Atom("custom")));
                                EXPECT_FALSE(r.delete_meta(Atom("custom")));
                                EXPECT_FALSE(r.meta(Atom("custom")));
                                co_return;
                              }),
            0);
}

TEST(Registry, a_registry_is_found_by_name_with_its_own_types_only) {
  EXPECT_EQ(run_with_registry(Keys::unique,
                              [](Names r) -> Task<> {
                                auto found = Names::whereis(Atom("names"));
                                EXPECT_TRUE(found);
                                if (!found) co_return;
                                EXPECT_EQ(*found, r);
                                EXPECT_EQ(found->pid(), *ambitious::whereis(Atom("names")));
                                EXPECT_FALSE((Registry<Term, Term>::whereis(Atom("names"))));
                                EXPECT_FALSE(Names::whereis(Atom("other")));
                                co_return;
                              }),
            0);
}

TEST(Registry, a_second_registry_under_a_taken_name_fails_with_already_started) {
  EXPECT_EQ(run_with_registry(
                Keys::unique,
                [](Names r) -> Task<> {
                  auto again = co_await Names::start_link(Atom("names"), Keys::unique);
                  EXPECT_FALSE(again.has_value());
                  if (again.has_value()) co_return;
                  EXPECT_EQ(again.error().term(), Term::tuple(Atom("already_started"), r.pid()));
                }),
            0);
}

TEST(Registry, a_stopped_registry_refuses_registrations) {
  EXPECT_EQ(run_with_registry(Keys::unique,
                              [](Names r) -> Task<> {
                                auto stopped = co_await r.stop();
                                EXPECT_TRUE(stopped.has_value());
                                EXPECT_FALSE(Names::whereis(Atom("names")));
                                EXPECT_THROW((void)r.register_key("k", 1), BadArg);
                              }),
            0);
}

TEST(Registry, keys_of_any_codec_type_work_including_tuples_hashed_through_their_term) {
  run_test([]() -> Task<> {
    using Rooms = Registry<std::tuple<Atom, int>, Term>;
    auto r = co_await Rooms::start_link(Atom("rooms"), Keys::unique);
    EXPECT_TRUE(r.has_value());
    EXPECT_TRUE(r->register_key({Atom("room"), 7}, Term(Atom("open"))).has_value());
    auto entries = r->lookup({Atom("room"), 7});
    EXPECT_EQ(entries.size(), 1u);
    if (!(entries.size() == 1u)) co_return;
    EXPECT_EQ(entries[0].value, Term(Atom("open")));
    EXPECT_TRUE(r->lookup({Atom("room"), 8}).empty());
  });
}

// Each worker process registers and unregisters keys of a shared pool at random (unique keys
// contended by all), keeps track of what it holds, and reports it; the table must agree.
namespace {
struct Holding {
  Pid pid;
  std::set<std::string> keys;
};

Task<> churn(Names r, Pid parent, unsigned seed, int rounds, int pool) {
  std::mt19937 rng(seed);
  std::set<std::string> held;
  for (int i = 0; i < rounds; ++i) {
    std::string key = "k" + std::to_string(rng() % static_cast<unsigned>(pool));
    if (held.contains(key) && rng() % 2) {
      r.unregister(key);
      held.erase(key);
    } else if (!held.contains(key)) {
      if (r.register_key(key, static_cast<int>(seed)).has_value()) held.insert(key);
    }
    if (i % 16 == 0) co_await yield();
  }
  send(parent, Holding{self(), held});
  co_await receive<Done>();
}
}  // namespace

TEST(Registry, concurrent_register_and_unregister_from_many_processes_leaves_a_consistent_table) {
  EXPECT_EQ(run_with_registry(
                Keys::unique,
                [](Names r) -> Task<> {
                  constexpr int processes = 64, rounds = 400, pool = 200;
                  for (int i = 0; i < processes; ++i)
                    spawn(churn, r, self(), static_cast<unsigned>(i + 1), rounds, pool);
                  std::map<std::string, Pid> owner;
                  std::size_t total = 0;
                  std::vector<Holding> all;
                  for (int i = 0; i < processes; ++i) {
                    auto h = co_await receive<Holding>(patience);
                    EXPECT_TRUE(h);
                    if (!h) co_return;
                    for (const auto& k : h->keys) {
                      EXPECT_FALSE(owner.contains(k)) << k << " held twice";
                      owner[k] = h->pid;
                    }
                    total += h->keys.size();
                    all.push_back(std::move(*h));
                  }
                  EXPECT_EQ(r.count(), total);
                  for (int k = 0; k < pool; ++k) {
                    std::string key = "k" + std::to_string(k);
                    auto entries = r.lookup(key);
                    if (owner.contains(key)) {
                      EXPECT_EQ(entries.size(), 1u) << key;
                      if (!(entries.size() == 1u)) co_return;
                      EXPECT_EQ(entries[0].pid, owner[key]);
                    } else {
                      EXPECT_TRUE(entries.empty()) << key;
                    }
                  }
                  for (const auto& h : all) {
                    auto keys = r.keys(h.pid);
                    EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()), h.keys);
                    EXPECT_EQ(keys.size(), h.keys.size());
                  }
                  for (const auto& h : all) co_await kill_and_wait(h.pid);
                  co_await r.sync();
                  EXPECT_EQ(r.count(), 0u);
                },
                four_workers, 4),
            0);
}

TEST(Registry, child_spec_starts_the_registry_under_a_supervisor_which_restarts_a_fresh_one) {
  std::vector<ChildInfo> children;
  std::optional<Pid> first, second;
  bool registered = false, fresh = false;
  unsigned partitions = 0;
  run_test([&]() -> Task<> {
    SupervisorSpec spec{{}, {Names::child_spec(Atom("names"), Keys::unique, 2)}};
    auto sup = co_await supervisor::start_link(std::move(spec));
    if (!sup) give_up("the supervisor did not start");
    children = co_await supervisor::which_children(*sup);
    auto r = Names::whereis(Atom("names"));
    if (!r) give_up("no registry under its name");
    first = r->pid();
    partitions = r->partitions();
    registered = r->register_key("k", 1).has_value();
    Ref mref = monitor(*first);
    exit(*first, atoms::kill);
    co_await expect_down(mref);
    (void)co_await supervisor::which_children(*sup);  // answered after the restart
    auto again = Names::whereis(Atom("names"));
    if (!again) give_up("no registry under its name after the restart");
    second = again->pid();
    fresh = again->lookup("k").empty();
    co_await gen_server::stop(*sup);
  });
  ASSERT_EQ(children.size(), 1u);
  EXPECT_EQ(children[0].id, Term(Atom("names")));
  EXPECT_EQ(children[0].type, ChildType::supervisor);
  EXPECT_EQ(children[0].pid, first);
  EXPECT_EQ(partitions, 2u);
  EXPECT_TRUE(registered);
  ASSERT_TRUE(first && second);
  EXPECT_NE(*second, *first);
  EXPECT_TRUE(fresh);
}
