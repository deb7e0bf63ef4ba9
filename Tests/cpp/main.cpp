#include "harness.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

namespace harness {

std::vector<Case> &cases() {
    static std::vector<Case> all;
    return all;
}

std::string url() {
    const char *url = std::getenv("NATS_URL");
    return url ? url : "";
}

void fail(const char *file, int line, const std::string &what) {
    throw Failure{std::string(file) + ":" + std::to_string(line) + ": " + what};
}

int slow() {
    static const int factor = [] {
        const char *text = std::getenv("SNATS_TEST_SLOW");
        int value = text ? std::atoi(text) : 1;
        return value > 0 ? value : 1;
    }();
    return factor;
}

bool eventually(const std::function<bool()> &done) {
    auto deadline = std::chrono::steady_clock::now() + T(5s);
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

} // namespace harness

int main(int argc, char **argv) {
    if (harness::url().empty()) {
        std::cerr << "NATS_URL is not set: run under scripts/with-server.sh\n";
        return 2;
    }
    const char *only = argc > 1 ? argv[1] : nullptr;
    int passed = 0, failed = 0;
    for (const auto &test : harness::cases()) {
        if (only && std::strncmp(test.name, only, std::strlen(only)) != 0) continue;
        try {
            test.run();
            passed++;
            std::cout << "ok   " << test.name << std::endl;
        } catch (const harness::Failure &f) {
            failed++;
            std::cout << "FAIL " << test.name << ": " << f.what << std::endl;
        } catch (const std::exception &e) {
            failed++;
            std::cout << "FAIL " << test.name << ": unexpected exception: " << e.what() << std::endl;
        }
    }
    std::cout << passed << " passed, " << failed << " failed" << std::endl;
    return failed == 0 && passed > 0 ? 0 : 1;
}
