#include "ambitious/dist/node_name.hpp"

#include "ambitious/dist/epmd_codec.hpp"
#include "bytes.hpp"

namespace ambitious::dist {

std::expected<NodeName, std::string_view> NodeName::parse(std::string_view name) {
  std::size_t at = name.find('@');
  if (at == std::string_view::npos) return std::unexpected("a node name is alive@host");
  std::string_view alive = name.substr(0, at), host = name.substr(at + 1);
  if (alive.empty()) return std::unexpected("the alive part of a node name is empty");
  if (host.empty()) return std::unexpected("the host part of a node name is empty");
  if (host.find('@') != std::string_view::npos)
    return std::unexpected("a node name has one @ only");
  std::size_t chars = 0;
  if (!detail::valid_utf8(name, chars)) return std::unexpected("a node name is UTF-8");
  if (chars > 255) return std::unexpected("a node name has at most 255 characters");
  if (!epmd::valid_name(alive)) return std::unexpected("epmd does not accept the alive part");
  return NodeName{std::string(alive), std::string(host)};
}

}  // namespace ambitious::dist
