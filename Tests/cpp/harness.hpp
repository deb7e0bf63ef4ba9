// A small test runner for the C++ layer: tests register themselves with TEST(name) and run in
// order against the server in NATS_URL (scripts/with-server.sh starts a throwaway one).
#ifndef SWIFTNATS_CPP_HARNESS_HPP
#define SWIFTNATS_CPP_HARNESS_HPP

#include <swiftnats.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace harness {

struct Case {
    const char *name;
    void (*run)();
};
std::vector<Case> &cases();
std::string url();

struct Failure {
    std::string what;
};

[[noreturn]] void fail(const char *file, int line, const std::string &what);

// Waits up to 5 s (times slow()) for @p done (callbacks run on the library's threads).
bool eventually(const std::function<bool()> &done);

// How much slower than normal the run is (SNATS_TEST_SLOW, 10 under valgrind): every wait the
// suite gives the library scales with it, through T().
int slow();
inline std::chrono::milliseconds T(std::chrono::milliseconds wait) { return wait * slow(); }

using namespace std::chrono_literals;

} // namespace harness

#define TEST(name)                                                                                   \
    static void name();                                                                              \
    static const bool name##_registered = (harness::cases().push_back({#name, &name}), true);       \
    static void name()

#define EXPECT(cond)                                                                                 \
    do {                                                                                             \
        if (!(cond)) harness::fail(__FILE__, __LINE__, #cond);                                       \
    } while (0)

#define EXPECT_EQ(a, b)                                                                              \
    do {                                                                                             \
        if (!((a) == (b))) harness::fail(__FILE__, __LINE__, #a " == " #b);                          \
    } while (0)

// Runs @p statement, which must throw @p type whose status() is @p code.
#define EXPECT_STATUS(statement, type, code)                                                         \
    do {                                                                                             \
        bool thrown_ = false;                                                                        \
        try {                                                                                        \
            statement;                                                                               \
        } catch (const type &e) {                                                                    \
            thrown_ = true;                                                                          \
            if (e.status() != (code))                                                                \
                harness::fail(__FILE__, __LINE__, std::string(#statement " threw ") + e.what());     \
        }                                                                                            \
        if (!thrown_) harness::fail(__FILE__, __LINE__, #statement " did not throw " #type);         \
    } while (0)

#endif
