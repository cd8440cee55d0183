#pragma once
// NodeName: `alive@host`, the name of a node, split and checked.

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

namespace ambitious::dist {

/// A node name `alive@host`. Long names have a host with a dot (`a@127.0.0.1`,
/// `a@box.example.com`), short names one without (`a@box`); as in OTP, a node of one kind does
/// not connect to a node of the other.
struct NodeName {
  std::string alive;  ///< what epmd registers
  std::string host;   ///< where to find epmd and the node

  /// Splits and checks `name`: one `@`, a non-empty alive part that epmd accepts, a non-empty
  /// host, valid UTF-8 and at most 255 characters in all (an atom); else why it is not one.
  static std::expected<NodeName, std::string_view> parse(std::string_view name);

  /// `alive@host`.
  std::string full() const { return alive + "@" + host; }
  /// True when the host has a dot (a long name, as erl -name).
  bool is_long() const noexcept { return host.find('.') != std::string::npos; }

  friend bool operator==(const NodeName&, const NodeName&) = default;
};

}  // namespace ambitious::dist
