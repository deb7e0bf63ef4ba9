// The C++ layer's lifetimes and edges: handles destroyed while their callbacks run, moved-from
// handles, callables copied per connection and per service, refusals at the boundary.
#include "harness.hpp"

#include <atomic>
#include <memory>
#include <optional>

using namespace harness;

TEST(a_subscription_destroyed_from_another_callback_keeps_its_running_handler_alive) {
    // snats_sub_destroy returns at once on a callback thread of the connection, while the
    // handler of the subscription destroyed may still run on another thread.
    auto nc = snats::Connection::connect(url());
    std::atomic<bool> slow_started{false}, slow_read{false};
    std::string expected(200, 'x');  // on the heap: freed memory would not read back
    std::optional<snats::Subscription> slow;
    slow.emplace(nc.subscribe("cpp.life.slow", [captured = expected, &slow_started, &slow_read, expected](const snats::Msg &) {
        slow_started = true;
        std::this_thread::sleep_for(T(300ms));
        slow_read = captured == expected;  // the capture, after its Subscription is gone
    }));
    std::atomic<bool> destroyed{false};
    auto killer = nc.subscribe("cpp.life.kill", [&](const snats::Msg &) {
        slow.reset();
        destroyed = true;
    });
    nc.publish("cpp.life.slow", "");
    nc.flush(T(2s));
    EXPECT(eventually([&] { return slow_started.load(); }));
    nc.publish("cpp.life.kill", "");
    EXPECT(eventually([&] { return destroyed.load(); }));
    EXPECT(eventually([&] { return slow_read.load(); }));
}

TEST(a_handler_may_destroy_its_own_subscription) {
    auto nc = snats::Connection::connect(url());
    std::atomic<int> calls{0};
    std::optional<snats::Subscription> once;
    once.emplace(nc.subscribe("cpp.life.once", [&, text = std::string(100, 'y')](const snats::Msg &) {
        calls++;
        once.reset();
        if (text.size() != 100) calls += 100;  // its capture is still there
        throw std::runtime_error("after destroying itself");
    }));
    nc.publish("cpp.life.once", "");
    nc.publish("cpp.life.once", "");
    nc.flush(T(2s));
    EXPECT(eventually([&] { return nc.callback_exceptions() == 1; }));
    std::this_thread::sleep_for(T(100ms));
    EXPECT_EQ(calls.load(), 1);
}

TEST(a_request_message_kept_from_a_handler_outlives_it) {
    auto nc = snats::Connection::connect(url());
    snats::micro::Config config("cppkeep", "1.0.0");
    auto service = snats::micro::Service::create(nc, config);
    std::mutex lock;
    std::vector<snats::Msg> kept;
    service.add_endpoint("keep", [&](const snats::micro::Request &req) {
        std::lock_guard<std::mutex> guard(lock);
        kept.push_back(req.msg());
        req.respond("ok");
    });
    for (int i = 0; i < 5; i++) nc.request("keep", "payload-" + std::to_string(i), T(2s));
    std::lock_guard<std::mutex> guard(lock);
    EXPECT_EQ(kept.size(), 5u);
    EXPECT_EQ(kept[3].data(), "payload-3");
    EXPECT_EQ(kept[3].subject(), "keep");
}

TEST(moved_from_handles_refuse_instead_of_crashing) {
    snats::Options options;
    options.url(url());
    snats::Options taken = std::move(options);
    EXPECT_STATUS(snats::Connection::connect(options), snats::Error, SNATS_INVALID_ARG);
    EXPECT_STATUS(options.on_error([](snats_status, std::string_view, std::string_view) {}), snats::Error, SNATS_INVALID_ARG);
    auto nc = snats::Connection::connect(taken);

    snats::micro::Config config("cppmoved", "1.0.0");
    auto service = snats::micro::Service::create(nc, config);
    auto other = std::move(service);
    EXPECT_STATUS(service.add_endpoint("x", [](const snats::micro::Request &) {}), snats::Error, SNATS_INVALID_ARG);
    EXPECT_STATUS(other.add_endpoint("x", nullptr), snats::Error, SNATS_INVALID_ARG);
    snats::micro::Config moved_config = std::move(config);
    EXPECT_STATUS(snats::micro::Service::create(nc, config), snats::Error, SNATS_INVALID_ARG);

    EXPECT_STATUS(nc.subscribe("cpp.x", nullptr), snats::Error, SNATS_INVALID_ARG);
    snats::Subscription sub;
    EXPECT_STATUS(sub.next_msg(T(0ms)), snats::Error, SNATS_INVALID_ARG);
    EXPECT(!sub.valid() && sub.subject().empty());

    snats::js::JetStream js(nc);
    auto kv = snats::js::KeyValue::create(js, "cppmovedkv");
    kv.put("k", "v");
    auto entry = kv.get("k");
    snats::js::KvEntry taken_entry = std::move(*entry);
    EXPECT(entry->key().empty() && entry->value().empty());
    EXPECT_EQ(taken_entry.key(), "k");
    snats::js::KeyValue::remove_bucket(js, "cppmovedkv");
}

TEST(each_connection_has_its_own_copy_of_the_options_callables) {
    std::atomic<int> first{0}, second{0};
    snats::Options options;
    options.url(url()).on_closed([&] { first++; });
    auto a = snats::Connection::connect(options);
    options.on_closed([&] { second++; });
    auto b = snats::Connection::connect(options);
    a.close();
    EXPECT(eventually([&] { return first.load() == 1; }));
    std::this_thread::sleep_for(T(50ms));
    EXPECT_EQ(second.load(), 0);
    options.on_closed(nullptr);  // clears it for the next connection; b keeps its own
    b.close();
    EXPECT(eventually([&] { return second.load() == 1; }));
    EXPECT_EQ(first.load(), 1);
}

TEST(handlers_that_throw_without_a_message_still_answer) {
    auto nc = snats::Connection::connect(url());
    snats::micro::Config config("cppempty", "1.0.0");
    auto service = snats::micro::Service::create(nc, config);
    service.add_endpoint("empty", [](const snats::micro::Request &) { throw std::runtime_error(""); });
    auto reply = nc.request("empty", "", T(2s));
    EXPECT(reply.headers().get("Nats-Service-Error-Code") == std::optional<std::string_view>("500"));
    snats::rpc::Server server(nc, "cppempty");
    server.add("empty", [](const snats::Json &) -> snats::Json { throw std::runtime_error(""); });
    server.start();
    snats::rpc::Client client(nc, "cppempty");
    EXPECT_STATUS(client.call("empty", snats::Json(), T(2s)), snats::rpc::RpcError, SNATS_RPC_ERROR);
}

TEST(error_codes_compare_with_statuses_and_one_shot_callables_may_be_move_only) {
    auto nc = snats::Connection::connect(url());
    std::error_code ec;
    auto sub = nc.subscribe_sync("cpp.ec");
    sub.next_msg(T(0ms), ec);
    EXPECT(ec == SNATS_TIMEOUT);
    EXPECT(ec != SNATS_NO_RESPONDERS);
    std::error_code direct = SNATS_MAX_PAYLOAD;
    EXPECT(direct.category() == snats::category());

    auto token = std::make_unique<int>(7);
    std::atomic<int> got{0};
    nc.request_async("cpp.nobody", "", T(1s), [token = std::move(token), &got](snats_status status, const snats::Msg &) {
        got = status == SNATS_NO_RESPONDERS ? *token : -1;
    });
    EXPECT(eventually([&] { return got.load() != 0; }));
    EXPECT_EQ(got.load(), 7);
}

TEST(an_ordered_consumer_and_a_watch_of_several_keys) {
    auto nc = snats::Connection::connect(url());
    snats::js::JetStream js(nc);
    js.add_stream(snats::Json::parse(R"({"name": "CPPORDERED", "subjects": ["cppordered.>"]})"));
    for (int i = 0; i < 10; i++) js.publish("cppordered.x", std::to_string(i));
    std::mutex lock;
    std::vector<std::string> got;
    {
        auto sub = js.consume("CPPORDERED", "", [&](const snats::Msg &msg) {
            std::lock_guard<std::mutex> guard(lock);
            got.emplace_back(msg.data());
        }, snats::Json::parse(R"({"ordered": {}})"));
        EXPECT(eventually([&] {
            std::lock_guard<std::mutex> guard(lock);
            return got.size() == 10;
        }));
    }
    EXPECT_EQ(got[9], "9");
    js.delete_stream("CPPORDERED");

    // Several keys need a consumer with filter_subjects: nats-server 2.10 or later.
    std::string version = json_string_value(json_object_get(nc.server_info().get(), "version"));
    if (version.rfind("2.9.", 0) == 0) return;
    auto kv = snats::js::KeyValue::create(js, "cppkeys");
    kv.put("a", "1");
    kv.put("b", "2");
    kv.put("c", "3");
    auto watcher = kv.watch("", nullptr, snats::Json::parse(R"({"keys": ["a", "c"]})"));
    std::vector<std::string> keys;
    while (auto entry = watcher.next(T(2s))) keys.emplace_back(entry->key());
    EXPECT_EQ(keys.size(), 2u);
    snats::js::KeyValue::remove_bucket(js, "cppkeys");
}
