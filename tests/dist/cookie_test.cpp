#include "ambitious/dist/cookie.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace ambitious::dist;
namespace fs = std::filesystem;

namespace {

std::string hex(const Digest& d) {
  std::ostringstream s;
  for (auto b : d) s << std::hex << (b >> 4) << (b & 15);
  return s.str();
}

// A temporary directory used as HOME, restored afterwards.
class CookieFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ambitious_cookie_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    if (const char* h = std::getenv("HOME")) home_ = h;
    if (const char* c = std::getenv(cookie_environment_variable)) env_ = c;
    setenv("HOME", dir_.c_str(), 1);
    unsetenv(cookie_environment_variable);
  }
  void TearDown() override {
    if (home_)
      setenv("HOME", home_->c_str(), 1);
    else
      unsetenv("HOME");
    if (env_)
      setenv(cookie_environment_variable, env_->c_str(), 1);
    else
      unsetenv(cookie_environment_variable);
    fs::remove_all(dir_);
  }
  fs::path write(const std::string& name, const std::string& text, mode_t mode = 0400) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    chmod(p.c_str(), mode);
    return p;
  }
  fs::path dir_;
  std::optional<std::string> home_, env_;
};

template <class T>
concept Printable = requires(std::ostream& o, const T& t) { o << t; };

}  // namespace

TEST(Cookie, the_digest_is_md5_of_the_cookie_then_the_challenge_in_decimal) {
  // Known answers (erlang:md5/1 gives the same).
  EXPECT_EQ(hex(Cookie("ambitious").digest(12345)), "b466a12798e0fad2e25d34e8f1d40eeb");
  EXPECT_EQ(hex(Cookie("secret").digest(4294967295u)), "5dfd181e69aa587cc812eb333e6536b6");
  EXPECT_EQ(hex(Cookie("secret").digest(0)), "175ec77a7f63082590987d0d8b051aff");
  Cookie c("secret");
  EXPECT_TRUE(c.verify(7, c.digest(7)));
  EXPECT_FALSE(c.verify(8, c.digest(7)));
  EXPECT_FALSE(Cookie("other").verify(7, c.digest(7)));
}

TEST(Cookie, a_cookie_cannot_be_printed_or_be_empty) {
  static_assert(!Printable<Cookie>, "a cookie must not be printable");
  EXPECT_THROW(Cookie(""), std::invalid_argument);
}

TEST_F(CookieFiles, the_cookie_file_is_read_as_erl_reads_it) {
  EXPECT_TRUE(Cookie::from_file(write("a", "SECRET\n"))->verify(1, Cookie("SECRET").digest(1)));
  EXPECT_TRUE(Cookie::from_file(write("b", "with space \r\n \n"))
                  ->verify(1, Cookie("with space ").digest(1)));
  auto bad = Cookie::from_file(write("c", "two\nlines\n"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, CookieError::Code::bad_characters);
  EXPECT_EQ(Cookie::from_file(write("d", "\n")).error().code, CookieError::Code::empty);
  EXPECT_EQ(Cookie::from_file(dir_ / "missing").error().code, CookieError::Code::unreadable);
}

TEST_F(CookieFiles, a_cookie_file_others_may_read_is_refused_without_naming_the_cookie) {
  auto r = Cookie::from_file(write("open", "TOPSECRETVALUE", 0644));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, CookieError::Code::not_private);
  EXPECT_NE(r.error().detail.find("owner only"), std::string::npos);
  EXPECT_EQ(r.error().detail.find("TOPSECRETVALUE"), std::string::npos);
  auto chars = Cookie::from_file(write("ctl", "TOPSECRET\x01VALUE"));
  ASSERT_FALSE(chars);
  EXPECT_EQ(chars.error().detail.find("TOPSECRET"), std::string::npos);
}

TEST_F(CookieFiles, a_missing_home_cookie_is_created_as_erl_creates_it) {
  auto c = Cookie::from_home();
  ASSERT_TRUE(c) << c.error().detail;
  fs::path file = dir_ / ".erlang.cookie";
  struct stat st;
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0400u);
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(text.size(), 20u);
  for (char ch : text) EXPECT_TRUE(ch >= 'A' && ch <= 'Z') << text;
  EXPECT_TRUE(c->verify(99, Cookie(text).digest(99)));
  // The next node finds the same cookie; nothing overwrites it.
  auto again = Cookie::from_home();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->verify(99, Cookie(text).digest(99)));
}

TEST_F(CookieFiles, an_option_wins_over_the_environment_which_wins_over_the_file) {
  write(".erlang.cookie", "FROMFILE");
  EXPECT_TRUE(Cookie::resolve(std::nullopt)->verify(1, Cookie("FROMFILE").digest(1)));
  setenv(cookie_environment_variable, "FROMENV", 1);
  EXPECT_TRUE(Cookie::resolve(std::nullopt)->verify(1, Cookie("FROMENV").digest(1)));
  EXPECT_TRUE(Cookie::resolve("FROMOPTION")->verify(1, Cookie("FROMOPTION").digest(1)));
  EXPECT_EQ(Cookie::resolve("").error().code, CookieError::Code::empty);
  unsetenv("HOME");
  unsetenv(cookie_environment_variable);
  EXPECT_EQ(Cookie::resolve(std::nullopt).error().code, CookieError::Code::no_home);
}
