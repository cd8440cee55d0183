// PubSub: processes subscribe to a topic; a broadcast reaches each of them, a broadcast from a
// subscriber skips it, and a subscription ends with its process. A broadcast message needs a
// Codec (here a described struct): it is the form the message takes between nodes.

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <boost/describe/class.hpp>

#include <ambitious/naming/pubsub.hpp>
#include <ambitious/process/monitor.hpp>
#include <ambitious/process/process.hpp>
#include <ambitious/process/receive.hpp>
#include <ambitious/process/runtime.hpp>
#include <ambitious/process/send.hpp>
#include <ambitious/process/spawn.hpp>

using namespace ambitious;

// [snippet message]
struct Said {
  std::string who;
  std::string text;
};
BOOST_DESCRIBE_STRUCT(Said, (), (who, text))
// [snippet message]

struct Ready {};
struct Heard {
  std::string listener;
  std::string text;
};

// [snippet member]
Task<> member(PubSub chat, std::string name, Pid parent) {
  chat.subscribe("room:lobby");
  send(parent, Ready{});
  for (;;) {
    Said s = co_await receive<Said>();
    send(parent, Heard{name, s.who + ": " + s.text});
  }
}
// [snippet member]

Task<std::vector<std::string>> hear(int n) {
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    Heard h = co_await receive<Heard>();
    lines.push_back(h.listener + " heard " + h.text);
  }
  std::sort(lines.begin(), lines.end());
  co_return lines;
}

int main() {
  return run([]() -> Task<> {
    // [snippet broadcast]
    auto chat = co_await PubSub::start_link(Atom("chat"));
    if (!chat) exit(chat.error());
    Pid ann = spawn(member, *chat, std::string("ann"), self());
    spawn(member, *chat, std::string("bob"), self());
    for (int i = 0; i < 2; ++i) co_await receive<Ready>();
    chat->broadcast("room:lobby", Said{"root", "hello"});        // to both
    chat->broadcast_from(ann, "room:lobby", Said{"ann", "hi"});  // to all but ann
    // [snippet broadcast]
    for (const std::string& line : co_await hear(3)) std::printf("%s\n", line.c_str());

    // [snippet ends]
    Ref mref = monitor(ann);
    exit(ann, atoms::kill);
    co_await receive_if<Down>([&](const Down& d) { return d.ref == mref; });
    co_await chat->subscriptions().sync();
    std::printf("subscribers left: %zu\n", chat->subscriptions().lookup("room:lobby").size());
    // [snippet ends]
  });
}
