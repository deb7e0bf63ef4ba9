// The C++ layer's core: connections, publish/subscribe, headers, requests, errors, callbacks
// that throw.
#include "harness.hpp"

#include <array>
#include <atomic>
#include <mutex>

using namespace harness;

TEST(publish_subscribe_with_a_capturing_lambda) {
    auto nc = snats::Connection::connect(url());
    std::mutex lock;
    std::vector<std::string> got;
    auto sub = nc.subscribe("cpp.ps", [&](const snats::Msg &msg) {
        std::lock_guard<std::mutex> guard(lock);
        got.emplace_back(msg.data());
    });
    std::vector<std::byte> bytes{std::byte{'b'}, std::byte{0}, std::byte{'c'}};
    std::array<uint8_t, 2> array{{'x', 'y'}};
    nc.publish("cpp.ps", "literal");
    nc.publish("cpp.ps", std::string("string"));
    nc.publish("cpp.ps", bytes);
    nc.publish("cpp.ps", array);
    nc.publish("cpp.ps");
    nc.flush(T(2s));
    EXPECT(eventually([&] {
        std::lock_guard<std::mutex> guard(lock);
        return got.size() == 5;
    }));
    EXPECT_EQ(got[0], "literal");
    EXPECT_EQ(got[1], "string");
    EXPECT_EQ(got[2], std::string("b\0c", 3));
    EXPECT_EQ(got[3], "xy");
    EXPECT_EQ(got[4], "");
    EXPECT_EQ(sub.subject(), "cpp.ps");
    EXPECT_EQ(sub.delivered(), 5u);
}

TEST(headers_round_trip) {
    auto nc = snats::Connection::connect(url());
    auto sub = nc.subscribe_sync("cpp.h");
    snats::Headers headers{{"Key", "one"}, {"Key", "two"}, {"Other", "x"}};
    headers.set("Other", "y").erase("Missing");
    nc.publish("cpp.h", "body", headers);
    auto msg = sub.next_msg(T(2s));
    EXPECT_EQ(msg.data(), "body");
    EXPECT(msg.headers().get("Key") == std::optional<std::string_view>("one"));
    EXPECT_EQ(msg.headers().values("Key").size(), 2u);
    EXPECT(msg.headers().get("Other") == std::optional<std::string_view>("y"));
    EXPECT(!msg.headers().get("Missing"));
    EXPECT_EQ(msg.headers().keys().size(), 2u);
    EXPECT_STATUS(headers.set("Bad", "line\r\nbreak"), snats::Error, SNATS_INVALID_ARG);
}

TEST(request_reply_sync_and_async) {
    auto nc = snats::Connection::connect(url());
    auto responder = nc.subscribe("cpp.echo", [](const snats::Msg &msg) { msg.respond(std::string("re:") + std::string(msg.data())); });
    nc.flush(T(2s));
    auto reply = nc.request("cpp.echo", "q", T(2s));
    EXPECT_EQ(reply.data(), "re:q");

    std::atomic<int> done{0};
    std::string async_data;
    snats_status async_status = SNATS_ERR;
    nc.request_async("cpp.echo", "a", T(2s), [&](snats_status status, const snats::Msg &msg) {
        async_status = status;
        async_data = std::string(msg.data());
        done = 1;
    });
    EXPECT(eventually([&] { return done.load() == 1; }));
    EXPECT_EQ(async_status, SNATS_OK);
    EXPECT_EQ(async_data, "re:a");

    // No responders reaches the completion too, with an empty message.
    std::atomic<int> nobody{0};
    nc.request_async("cpp.nobody", "", T(2s), [&](snats_status status, const snats::Msg &msg) {
        nobody = status == SNATS_NO_RESPONDERS && !msg ? 1 : 2;
    });
    EXPECT(eventually([&] { return nobody.load() != 0; }));
    EXPECT_EQ(nobody.load(), 1);
}

TEST(failures_throw_or_set_an_error_code) {
    auto nc = snats::Connection::connect(url());
    EXPECT_STATUS(nc.request("cpp.nobody", "", T(1s)), snats::Error, SNATS_NO_RESPONDERS);
    std::error_code ec;
    auto none = nc.request("cpp.nobody", "", T(1s), ec);
    EXPECT(!none);
    EXPECT(snats::is(ec, SNATS_NO_RESPONDERS));
    EXPECT(ec.category() == snats::category());
    EXPECT(ec.message().find("SNATS_NO_RESPONDERS") != std::string::npos);

    EXPECT_STATUS(nc.publish("bad subject", "x"), snats::Error, SNATS_INVALID_SUBJECT);
    nc.publish("cpp.fine", "x", ec);
    EXPECT(!ec);

    // A NUL inside a subject is refused, never cut short to another subject.
    auto sub = nc.subscribe_sync("cpp.nul");
    EXPECT_STATUS(nc.publish(std::string_view("cpp.nul\0.other", 14), "x"), snats::Error, SNATS_INVALID_ARG);
    nc.publish(std::string_view("cpp.nul\0", 8), "x", ec);
    EXPECT(snats::is(ec, SNATS_INVALID_ARG));
    EXPECT(snats::last_error().find("NUL") != std::string::npos);
    nc.flush(T(2s));
    EXPECT_STATUS(sub.next_msg(T(0ms)), snats::Error, SNATS_TIMEOUT);

    // A zero timeout polls; the non-throwing form gives an empty message.
    auto polled = sub.next_msg(T(0ms), ec);
    EXPECT(!polled && snats::is(ec, SNATS_TIMEOUT));

    // Handles left empty by a move refuse calls instead of crashing.
    snats::Connection moved = std::move(nc);
    EXPECT(!nc);
    EXPECT_STATUS(nc.publish("cpp.x", "x"), snats::Error, SNATS_INVALID_ARG);
    EXPECT(nc.closed());
    EXPECT_STATUS(snats::Connection::connect("nats://127.0.0.1:1"), snats::Error, SNATS_NO_SERVER);
}

TEST(a_throwing_callback_is_counted_and_reported_never_crosses_into_the_library) {
    std::mutex lock;
    std::vector<std::string> reports;
    snats::Options options;
    options.url(url()).name("cpp-throws").on_error([&](snats_status status, std::string_view text, std::string_view) {
        std::lock_guard<std::mutex> guard(lock);
        reports.push_back(std::string(snats_status_text(status)) + " " + std::string(text));
    });
    auto nc = snats::Connection::connect(options);
    std::atomic<int> seen{0};
    auto sub = nc.subscribe("cpp.throw", [&](const snats::Msg &msg) {
        seen++;
        if (msg.data() == "boom") throw std::runtime_error("kaboom");
        if (msg.data() == "int") throw 42;
    });
    nc.publish("cpp.throw", "boom");
    nc.publish("cpp.throw", "int");
    nc.publish("cpp.throw", "fine");
    nc.flush(T(2s));
    EXPECT(eventually([&] { return seen.load() == 3; }));  // delivery goes on after a throw
    EXPECT(eventually([&] { return nc.callback_exceptions() == 2; }));
    std::lock_guard<std::mutex> guard(lock);
    EXPECT_EQ(reports.size(), 2u);
    EXPECT(reports[0].find("kaboom") != std::string::npos);
    EXPECT(reports[0].find("SNATS_ERR") == 0);
    EXPECT(reports[1].find("not a std::exception") != std::string::npos);

    // A request_async completion that throws is reported the same way.
    std::atomic<bool> ran{false};
    nc.request_async("cpp.nobody", "", T(1s), [&](snats_status, const snats::Msg &) {
        ran = true;
        throw std::logic_error("completion");
    });
    EXPECT(eventually([&] { return nc.callback_exceptions() == 3; }));
    EXPECT(ran.load());
}

TEST(a_message_copied_in_a_callback_outlives_it) {
    auto nc = snats::Connection::connect(url());
    std::mutex lock;
    std::vector<snats::Msg> kept;
    auto sub = nc.subscribe("cpp.keep", [&](const snats::Msg &msg) {
        std::lock_guard<std::mutex> guard(lock);
        kept.push_back(msg);  // a copy: a reference of its own
    });
    for (int i = 0; i < 50; i++) nc.publish("cpp.keep", std::to_string(i));
    nc.flush(T(2s));
    EXPECT(eventually([&] {
        std::lock_guard<std::mutex> guard(lock);
        return kept.size() == 50;
    }));
    sub = snats::Subscription();  // move-assign: the old subscription is destroyed
    EXPECT(!sub);
    std::lock_guard<std::mutex> guard(lock);
    for (int i = 0; i < 50; i++) EXPECT_EQ(kept[static_cast<size_t>(i)].data(), std::to_string(i));
    snats::Msg copy = kept[7];
    EXPECT_EQ(copy.subject(), "cpp.keep");
}

TEST(queue_groups_share_the_messages) {
    auto nc = snats::Connection::connect(url());
    std::atomic<int> a{0}, b{0};
    auto first = nc.queue_subscribe("cpp.q", "workers", [&](const snats::Msg &) { a++; });
    auto second = nc.queue_subscribe("cpp.q", "workers", [&](const snats::Msg &) { b++; });
    nc.flush(T(2s));
    for (int i = 0; i < 100; i++) nc.publish("cpp.q", "x");
    nc.flush(T(2s));
    EXPECT(eventually([&] { return a + b == 100; }));
    EXPECT_STATUS(nc.queue_subscribe("cpp.q", "", [](const snats::Msg &) {}), snats::Error, SNATS_INVALID_ARG);
}

TEST(connection_events_and_information) {
    std::atomic<bool> closed{false};
    snats::Options options;
    options.url(url()).on_closed([&] { closed = true; });
    auto nc = snats::Connection::connect(options);
    EXPECT_EQ(nc.state(), SNATS_CONN_CONNECTED);
    EXPECT(nc.max_payload() > 0);
    EXPECT(nc.connected_url().find("127.0.0.1") != std::string::npos);
    EXPECT(nc.new_inbox().rfind("_INBOX.", 0) == 0);
    EXPECT(json_is_object(nc.server_info().get()));
    EXPECT(nc.rtt(T(2s)).count() > 0);
    nc.publish("cpp.stats", "12345");
    nc.flush(T(2s));
    EXPECT(nc.stats().out_msgs >= 1);
    nc.drain(T(2s));
    EXPECT(eventually([&] { return closed.load(); }));
    EXPECT(nc.closed());
}

TEST(json_values_and_their_references) {
    auto value = snats::Json::parse(R"({"a": [1, 2], "b": "x"})");
    snats::Json copy = value;
    EXPECT_EQ(copy.get(), value.get());
    EXPECT_EQ(value.dump(), R"({"a":[1,2],"b":"x"})");
    EXPECT_STATUS(snats::Json::parse("{not json"), snats::Error, SNATS_INVALID_JSON);
    EXPECT_EQ(snats::Json().dump(), "null");
}
