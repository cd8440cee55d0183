#pragma once
// Private: the epmd client's conversations as Asio coroutines, for the node's I/O thread (the
// blocking functions of epmd_client.hpp run the same coroutines on an io_context of their own).

#include <chrono>
#include <cstdint>
#include <expected>
#include <string>
#include <utility>

#include "ambitious/dist/epmd_client.hpp"
#include "asio_support.hpp"

namespace ambitious::dist::epmd::detail {

using ambitious::dist::detail::tcp;
using ambitious::dist::detail::asio::awaitable;

/// A registration: the connection to epmd (which keeps it while open) and its creation.
struct AsyncRegistration {
  tcp::socket socket;
  std::uint32_t creation = 0;
};

/// ALIVE2_REQ: registers `node`; the socket of the result keeps the registration.
awaitable<std::expected<AsyncRegistration, ClientError>> async_register(
    Address at, NodeEntry node, std::chrono::milliseconds timeout);
/// PORT_PLEASE2_REQ.
awaitable<std::expected<NodeEntry, ClientError>> async_port_please(
    Address at, std::string alive, std::chrono::milliseconds timeout);
/// NAMES_REQ.
awaitable<std::expected<NamesResponse, ClientError>> async_names(Address at,
                                                                 std::chrono::milliseconds timeout);

}  // namespace ambitious::dist::epmd::detail
