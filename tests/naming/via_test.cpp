#include "ambitious/naming/via.hpp"

#include <gtest/gtest.h>

#include <string>

#include "ambitious/behaviours/gen_server.hpp"
#include "naming_support.hpp"

using namespace ambitious;
using namespace ambitious::test;

namespace {

using Rooms = Registry<std::string, Term>;

struct Join {
  std::string who;
};
struct Members {};
struct Note {
  int n;
};

// A chat room: one server per room, named by its key in the Rooms registry.
struct Room : GenServer<Room> {
  std::vector<std::string> members;
  int notes = 0;
  using calls = Types<Join, Members, int>;
  using casts = Types<Note>;
  using info = Types<Note>;

  CallResult<std::size_t> handle_call(Join j, const From&) {
    members.push_back(std::move(j.who));
    return reply(members.size());
  }
  CallResult<std::vector<std::string>> handle_call(Members, const From&) { return reply(members); }
  Action handle_cast(Note n) {
    notes += n.n;
    return noreply();
  }
  Action handle_info(Note n) {
    notes += n.n;
    return noreply();
  }
  CallResult<int> handle_call(int, const From&) { return reply(notes); }
};

template <class F>
int with_rooms(F body) {
  return run(one_worker, [&]() -> Task<> {
    auto rooms = co_await Rooms::start_link(Atom("rooms"), Keys::unique, 2);
    EXPECT_TRUE(rooms.has_value());
    if (rooms) co_await body(*rooms);
  });
}

}  // namespace

TEST(Via, a_server_started_under_a_via_name_is_called_and_cast_through_it) {
  EXPECT_EQ(with_rooms([](Rooms rooms) -> Task<> {
              StartOptions options{.name = via(rooms, "lobby")};
              auto started = co_await Room::start_link(options);
              EXPECT_TRUE(started.has_value());
              if (!started) co_return;
              EXPECT_EQ(rooms.whereis("lobby"), started->pid());
              ServerRef<Room> lobby(via(rooms, "lobby"));
              // Requests are built before co_await: g++ 12 destroys a braced temporary in a
              // co_await expression twice.
              Join ann{"ann"}, bob{"bob"};
              std::size_t after_ann = co_await gen_server::call(lobby, ann);
              std::size_t after_bob = co_await gen_server::call(lobby, bob);
              EXPECT_EQ(after_ann, 1u);
              EXPECT_EQ(after_bob, 2u);
              gen_server::cast(lobby, Note{2});
              send(via(rooms, "lobby"), Note{3});
              int notes = co_await gen_server::call(lobby, 0);
              EXPECT_EQ(notes, 5);
              auto members = co_await gen_server::call(lobby, Members{});
              EXPECT_EQ(members, (std::vector<std::string>{"ann", "bob"}));
              EXPECT_EQ(whereis(via(rooms, "lobby")), started->pid());
            }),
            0);
}

TEST(Via, a_second_server_under_a_taken_via_name_fails_with_already_started) {
  EXPECT_EQ(with_rooms([](Rooms rooms) -> Task<> {
              trap_exit(true);  // the failed start's exit signal becomes a message
              StartOptions options{.name = via(rooms, "lobby")};
              auto first = co_await Room::start_link(options);
              EXPECT_TRUE(first.has_value());
              if (!first) co_return;
              auto second = co_await Room::start(options);
              EXPECT_FALSE(second.has_value());
              if (second) co_return;
              EXPECT_EQ(second.error().term(), Term::tuple(Atom("already_started"), *first->pid()));
            }),
            0);
}

TEST(Via, a_call_to_a_via_name_nobody_holds_fails_with_noproc) {
  EXPECT_EQ(with_rooms([](Rooms rooms) -> Task<> {
              ServerRef<Room> nowhere(via(rooms, "nowhere"));
              auto r = co_await gen_server::try_call(nowhere, Members{});
              EXPECT_FALSE(r.has_value());
              if (r) co_return;
              EXPECT_EQ(r.error(), ExitReason(atoms::noproc));
              gen_server::cast(ServerRef<Room>(via(rooms, "nowhere")), Note{1});  // ignored
              EXPECT_THROW(send(via(rooms, "nowhere"), Note{1}), BadArg);
              EXPECT_FALSE(whereis(via(rooms, "nowhere")));
            }),
            0);
}

TEST(Via, the_name_is_free_again_once_its_server_has_stopped) {
  EXPECT_EQ(with_rooms([](Rooms rooms) -> Task<> {
              StartOptions options{.name = via(rooms, "lobby")};
              auto first = co_await Room::start(options);
              EXPECT_TRUE(first.has_value());
              if (!first) co_return;
              auto stopped = co_await gen_server::stop(*first);
              EXPECT_TRUE(stopped.has_value());
              EXPECT_FALSE(rooms.whereis("lobby"));  // dead holders are never returned
              auto second = co_await Room::start(options);
              EXPECT_TRUE(second.has_value());
              if (!second) co_return;
              EXPECT_NE(*second->pid(), *first->pid());
              co_await rooms.sync();
              EXPECT_EQ(rooms.count(), 1u);
              EXPECT_EQ(rooms.whereis("lobby"), second->pid());
            }),
            0);
}

TEST(Via, a_plain_process_claims_a_via_name_and_receives_through_it) {
  EXPECT_EQ(with_rooms([](Rooms rooms) -> Task<> {
              auto name = via(rooms, "worker", Term(Atom("plain")));
              Pid parent = self();
              Pid worker = spawn(
                  [](std::shared_ptr<const ViaName> name, Pid parent) -> Task<> {
                    EXPECT_TRUE(register_name(name).has_value());
                    send(parent, Ready{self()});
                    auto note = co_await receive<Note>();
                    send(parent, note);
                    co_await receive<Done>();
                  },
                  name, parent);
              co_await receive<Ready>(patience);
              EXPECT_EQ(register_name(name).error(), worker);
              send(name, Note{7});
              auto echoed = co_await receive<Note>(patience);
              EXPECT_TRUE(echoed);
              if (echoed) {
                EXPECT_EQ(echoed->n, 7);
              }
              auto entries = rooms.lookup("worker");
              EXPECT_EQ(entries.size(), 1u);
              if (!entries.empty()) {
                EXPECT_EQ(entries[0].value, Term(Atom("plain")));
              }
              send(worker, Done{});
            }),
            0);
}

TEST(Via, a_via_name_in_a_duplicate_registry_is_a_bad_argument) {
  run_test([]() -> Task<> {
    auto topics = co_await Rooms::start_link(Atom("topics"), Keys::duplicate);
    EXPECT_TRUE(topics.has_value());
    if (topics) {
      EXPECT_THROW((void)via(*topics, "t"), BadArg);
    }
  });
}
