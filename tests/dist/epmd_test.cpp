#include "ambitious/dist/epmd_client.hpp"
#include "ambitious/dist/epmd_server.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include <algorithm>
#include <cstdlib>

#include "erl_node.hpp"

// The epmd client against the embedded server and against OTP's epmd, and the embedded server
// against OTP's nodes and tools. Every server and epmd here listens on 127.0.0.1, on a port of
// its own.

using namespace ambitious::dist;
using namespace ambitious::dist::epmd;
using namespace ambitious::test;
using namespace std::chrono_literals;

namespace {

constexpr auto quick = std::chrono::milliseconds(5000);

NodeEntry entry(std::string name, std::uint16_t port) {
  NodeEntry e;
  e.name = std::move(name);
  e.port = port;
  return e;
}

std::unique_ptr<Server> local_server() {
  ServerOptions o;
  o.address = "127.0.0.1";
  o.port = 0;
  auto s = Server::start(o);
  if (!s) throw std::runtime_error("epmd server: " + s.error().detail);
  return std::move(*s);
}

bool listed(const std::vector<NameLine>& names, const std::string& name) {
  return std::any_of(names.begin(), names.end(), [&](auto& n) { return n.name == name; });
}

// The register/resolve/list/unregister round every epmd must serve.
void serves_a_registration(const Address& at) {
  auto reg = register_node(at, entry("alpha", 40001), quick);
  ASSERT_TRUE(reg) << to_string(reg.error());
  EXPECT_NE(reg->creation(), 0u);
  EXPECT_FALSE(reg->lost());

  auto found = port_please(at, "alpha", quick);
  ASSERT_TRUE(found) << to_string(found.error());
  EXPECT_EQ(found->port, 40001);
  EXPECT_EQ(found->type, NodeType::hidden);
  EXPECT_EQ(found->highest_version, 6);
  EXPECT_EQ(port_please(at, "beta", quick).error().code, ClientErrc::not_registered);

  auto list = names(at, quick);
  ASSERT_TRUE(list) << to_string(list.error());
  EXPECT_EQ(list->epmd_port, at.port);
  EXPECT_EQ(list->names, (std::vector<NameLine>{{"alpha", 40001}}));

  auto twice = register_node(at, entry("alpha", 40002), quick);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ClientErrc::name_taken);

  std::uint32_t first = reg->creation();
  reg->close();
  EXPECT_TRUE(reg->lost());
  ASSERT_TRUE(eventually([&] { return !port_please(at, "alpha", quick).has_value(); }));
  auto again = register_node(at, entry("alpha", 40003), quick);
  ASSERT_TRUE(again) << to_string(again.error());
  EXPECT_NE(again->creation(), first) << "a new registration gets a new creation";
}

}  // namespace

TEST(Epmd, the_port_comes_from_erl_epmd_port_or_is_4369) {
  EXPECT_EQ(parse_port("4369"), 4369);
  EXPECT_EQ(parse_port("65535"), 65535);
  EXPECT_FALSE(parse_port("0"));
  EXPECT_FALSE(parse_port("65536"));
  EXPECT_FALSE(parse_port(""));
  EXPECT_FALSE(parse_port("12a"));
  EXPECT_FALSE(parse_port("-1"));
  const char* saved = std::getenv("ERL_EPMD_PORT");
  std::string keep = saved ? saved : "";
  unsetenv("ERL_EPMD_PORT");
  EXPECT_EQ(configured_port(), 4369);
  setenv("ERL_EPMD_PORT", "14001", 1);
  EXPECT_EQ(configured_port(), 14001);
  setenv("ERL_EPMD_PORT", "fourteen", 1);
  EXPECT_THROW(configured_port(), std::invalid_argument);
  if (saved)
    setenv("ERL_EPMD_PORT", keep.c_str(), 1);
  else
    unsetenv("ERL_EPMD_PORT");
}

TEST(Epmd, the_embedded_server_serves_a_registration_and_forgets_it_when_its_connection_closes) {
  auto server = local_server();
  serves_a_registration(Address{"127.0.0.1", server->port()});
}

TEST(Epmd, the_client_serves_a_registration_with_otps_epmd) {
  if (!have_erl()) GTEST_SKIP() << "erlang-base is not installed";
  std::uint16_t port = free_port();
  ChildProcess epmd({"epmd", "-port", std::to_string(port)});
  Address at{"127.0.0.1", port};
  ASSERT_TRUE(eventually([&] { return names(at, quick).has_value(); })) << epmd.log();
  serves_a_registration(at);
}

TEST(Epmd, an_absent_epmd_is_unreachable_and_a_silent_one_times_out) {
  Address nobody{"127.0.0.1", free_port()};
  EXPECT_EQ(names(nobody, quick).error().code, ClientErrc::unreachable);
  EXPECT_EQ(register_node(nobody, entry("a", 1), quick).error().code, ClientErrc::unreachable);

  // A listener that accepts (the kernel does, from its backlog) and never answers.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  Address mute{"127.0.0.1", silent.local_endpoint().port()};
  auto r = port_please(mute, "a", 100ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ClientErrc::timeout);
  EXPECT_EQ(register_node(mute, entry("a", 1), 100ms).error().code, ClientErrc::timeout);
}

TEST(Epmd, a_client_of_version_5_gets_the_old_response_with_a_small_creation) {
  auto server = local_server();
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket s(io);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), server->port()});
  NodeEntry e = entry("old", 1234);
  e.highest_version = e.lowest_version = 5;
  auto bytes = encode(Alive2Request{e});
  boost::asio::write(s, boost::asio::buffer(bytes));
  std::uint8_t in[4];
  boost::asio::read(s, boost::asio::buffer(in));
  auto r = decode_alive2_response(in);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->first.extended);
  EXPECT_EQ(r->first.result, 0);
  EXPECT_GE(r->first.creation, 1u);
  EXPECT_LE(r->first.creation, 3u);
}

TEST(Epmd, garbage_and_a_request_too_slow_close_the_connection_and_keep_the_server) {
  ServerOptions o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.packet_timeout = 100ms;
  auto server = Server::start(o);
  ASSERT_TRUE(server);
  boost::asio::io_context io;
  auto connect = [&] {
    boost::asio::ip::tcp::socket s(io);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), (*server)->port()});
    return s;
  };
  auto closed = [](boost::asio::ip::tcp::socket& s) {
    std::uint8_t b;
    boost::system::error_code ec;
    s.read_some(boost::asio::buffer(&b, 1), ec);
    return ec == boost::asio::error::eof;
  };
  auto garbage = connect();
  std::uint8_t junk[] = {0, 3, 0x63, 1, 2};
  boost::asio::write(garbage, boost::asio::buffer(junk));
  EXPECT_TRUE(closed(garbage));
  auto slow = connect();
  std::uint8_t half[] = {0, 9, 0x78};
  boost::asio::write(slow, boost::asio::buffer(half));
  EXPECT_TRUE(closed(slow));  // after the packet timeout
  serves_a_registration(Address{"127.0.0.1", (*server)->port()});
}

TEST(Epmd, a_second_server_on_a_taken_port_reports_it) {
  auto server = local_server();
  ServerOptions o;
  o.address = "127.0.0.1";
  o.port = server->port();
  auto second = Server::start(o);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ServerErrc::address_in_use);
}

TEST(Epmd, real_erl_registers_with_the_embedded_server_and_otps_tools_list_it) {
  if (!have_erl()) GTEST_SKIP() << "erlang-base is not installed";
  auto server = local_server();
  std::uint16_t port = server->port();
  ErlNode x({.name = "x@127.0.0.1", .epmd_port = port});
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_TRUE(listed(server->names(), "x"));

  // Where erl listens, as epmd tells it, is where erl says it listens.
  auto found = port_please(Address{"127.0.0.1", port}, "x", quick);
  ASSERT_TRUE(found) << to_string(found.error());
  EXPECT_EQ(found->type, NodeType::normal);
  EXPECT_EQ(found->highest_version, 6);
  std::string listen = x.eval("{port, P, _} = erl_epmd:port_please(x, \"127.0.0.1\"), P.");
  EXPECT_EQ(listen, std::to_string(found->port));

  // Another Erlang node lists it with net_adm:names(); epmd -names lists it.
  ErlNode y({.name = "y@127.0.0.1", .epmd_port = port});
  ASSERT_TRUE(y.ready()) << y.log();
  std::string seen = y.eval("{ok, L} = net_adm:names(\"127.0.0.1\"), lists:sort(L).");
  std::string y_port = y.eval("{port, Py, _} = erl_epmd:port_please(y, \"127.0.0.1\"), Py.");
  EXPECT_EQ(seen, "[{[120]," + std::to_string(found->port) + "},{[121]," + y_port + "}]");
  ChildProcess names_tool({"epmd", "-port", std::to_string(port), "-names"});
  ASSERT_EQ(names_tool.wait(patience), 0) << names_tool.log();
  EXPECT_NE(names_tool.log().find("name x at port " + std::to_string(found->port)),
            std::string::npos)
      << names_tool.log();

  // epmd -kill is refused while nodes are registered.
  ChildProcess kill_tool({"epmd", "-port", std::to_string(port), "-kill"});
  EXPECT_EQ(kill_tool.wait(patience), 1);
  EXPECT_NE(kill_tool.log().find("Killing not allowed"), std::string::npos) << kill_tool.log();
  EXPECT_TRUE(server->running());

  // A node that halts unregisters (its connection closes).
  x.process().close_stdin();
  ASSERT_TRUE(x.process().wait(patience).has_value());
  ASSERT_TRUE(eventually([&] { return !listed(server->names(), "x"); }));
  EXPECT_TRUE(listed(server->names(), "y"));
}

TEST(Epmd, epmd_kill_stops_the_embedded_server_when_no_node_is_registered) {
  if (!have_erl()) GTEST_SKIP() << "erlang-base is not installed";
  auto server = local_server();
  ChildProcess kill_tool({"epmd", "-port", std::to_string(server->port()), "-kill"});
  EXPECT_EQ(kill_tool.wait(patience), 0);
  EXPECT_NE(kill_tool.log().find("Killed"), std::string::npos) << kill_tool.log();
  ASSERT_TRUE(eventually([&] { return !server->running(); }));
  EXPECT_EQ(names(Address{"127.0.0.1", server->port()}, quick).error().code,
            ClientErrc::unreachable);
}

TEST(Epmd, a_node_starts_an_embedded_server_when_none_answers_and_uses_the_one_that_does) {
  ServerOptions o;
  o.address = "127.0.0.1";
  o.port = free_port();
  auto first = register_locally(entry("one", 1001), o, quick);
  ASSERT_TRUE(first) << to_string(first.error());
  ASSERT_NE(first->server, nullptr) << "nobody answered: the node starts its own epmd";
  auto second = register_locally(entry("two", 1002), o, quick);
  ASSERT_TRUE(second) << to_string(second.error());
  EXPECT_EQ(second->server, nullptr) << "the first node's epmd answers the second";
  EXPECT_EQ(first->server->names(), (std::vector<NameLine>{{"two", 1002}, {"one", 1001}}));
  auto taken = register_locally(entry("two", 1003), o, quick);
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, ClientErrc::name_taken);
}
