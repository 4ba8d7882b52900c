// A minimal test registry for the native tests: QWEN_TEST(name) { ... } registers a test; CHECK and
// CHECK_NEAR stop the test with file:line and the failed expression. test_main.cpp runs them.
#pragma once
#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace qwen_test {

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Test {
  const char* name;
  void (*fn)();
};

inline std::vector<Test>& registry() {
  static std::vector<Test> tests;
  return tests;
}

struct Registrar {
  Registrar(const char* name, void (*fn)()) { registry().push_back({name, fn}); }
};

[[noreturn]] inline void fail(const char* file, int line, const std::string& what) {
  std::ostringstream os;
  os << file << ":" << line << ": " << what;
  throw Failure(os.str());
}

}  // namespace qwen_test

#define QWEN_TEST(name)                                                  \
  static void name();                                                    \
  static ::qwen_test::Registrar qwen_test_registrar_##name(#name, name); \
  static void name()

#define CHECK(cond)                                                             \
  do {                                                                          \
    if (!(cond)) ::qwen_test::fail(__FILE__, __LINE__, "CHECK failed: " #cond); \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                                                         \
  do {                                                                                                                \
    const double qwen_a_ = (double)(a), qwen_b_ = (double)(b), qwen_t_ = (double)(tol);                               \
    if (!(std::fabs(qwen_a_ - qwen_b_) <= qwen_t_)) {                                                                 \
      std::ostringstream qwen_os_;                                                                                    \
      qwen_os_ << "CHECK_NEAR failed: " #a " = " << qwen_a_ << ", " #b " = " << qwen_b_ << ", tolerance " << qwen_t_; \
      ::qwen_test::fail(__FILE__, __LINE__, qwen_os_.str());                                                          \
    }                                                                                                                 \
  } while (0)
