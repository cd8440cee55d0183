// Processes and messages: processes started with arguments, messages sent by pid and by
// registered name, a message built in place, a blocking call kept off the workers, and what
// process_info tells about a process.

#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <thread>

#include <ambitious/process/names.hpp>
#include <ambitious/process/process.hpp>
#include <ambitious/process/process_info.hpp>
#include <ambitious/process/receive.hpp>
#include <ambitious/process/runtime.hpp>
#include <ambitious/process/send.hpp>
#include <ambitious/process/spawn.hpp>

using namespace ambitious;
using namespace std::chrono_literals;

// [snippet messages]
struct Line {
  std::string text;
};
struct Count {
  Pid from;
  std::size_t words;
};
struct Total {
  std::size_t words;
};
// [snippet messages]

// [snippet counter]
Task<> word_counter(Atom collector) {
  Line line = co_await receive<Line>();
  std::istringstream in(line.text);
  std::size_t words = 0;
  for (std::string word; in >> word;) ++words;
  send(collector, Count{self(), words});  // to whoever is registered under that name
}
// [snippet counter]

Task<> collector(int lines, Pid report_to) {
  std::size_t total = 0;
  for (int i = 0; i < lines; ++i) total += (co_await receive<Count>()).words;
  send(report_to, Total{total});
}

int main() {
  return run([]() -> Task<> {
    // [snippet spawn]
    Pid c = spawn(collector, 3, self());  // the arguments are moved into the new process
    register_name(Atom("collector"), c);
    // [snippet spawn]

    // [snippet process_info]
    auto info = co_await process_info(c, InfoItem::registered_name | InfoItem::message_queue_len);
    if (info && info->registered_name)
      std::printf("%s is registered as %s and has %zu messages queued\n", to_string(c).c_str(),
                  std::string(info->registered_name->name()).c_str(), info->message_queue_len);
    // [snippet process_info]

    // [snippet send]
    const char* lines[] = {"the quick brown fox", "jumps over", "the lazy dog"};
    for (const char* text : lines) {
      Pid w = spawn(word_counter, Atom("collector"));
      send<Line>(w, std::string(text));  // a Line built in place, inside the message
    }
    // [snippet send]

    // [snippet blocking]
    // Sleeping stands for any call that blocks its thread: a file read, a C library's wait.
    int answer = co_await blocking([] {
      std::this_thread::sleep_for(10ms);
      return 42;
    });
    // [snippet blocking]

    Total t = co_await receive<Total>();
    std::printf("the blocking call gave %d; %zu words in %zu lines\n", answer, t.words,
                std::size(lines));
  });
}
