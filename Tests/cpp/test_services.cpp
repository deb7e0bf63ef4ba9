// The C++ layer's micro services and JSON-RPC.
#include "harness.hpp"

#include <atomic>

using namespace harness;

namespace {
int integer(const snats::Json &value, const char *key) {
    return static_cast<int>(json_integer_value(json_object_get(value.get(), key)));
}
} // namespace

TEST(micro_service_endpoints_groups_and_discovery) {
    auto nc = snats::Connection::connect(url());
    std::atomic<bool> done{false};
    snats::micro::Config config("cppsvc", "1.2.3");
    config.description("C++ test service").on_done([&] { done = true; });
    auto service = snats::micro::Service::create(nc, config);
    std::string suffix = "!";
    service.add_endpoint("echo", [&](const snats::micro::Request &req) { req.respond(std::string(req.data()) + suffix); });
    auto group = service.add_group("math");
    snats::micro::EndpointConfig double_config;
    double_config.concurrency(2);
    group.add_endpoint("double", [](const snats::micro::Request &req) {
        req.respond(std::to_string(2 * std::stoi(std::string(req.data()))));
    }, &double_config);
    // A handler that answers later, from another thread, with its copy of the request.
    std::vector<std::thread> later;
    service.add_endpoint("later", [&](const snats::micro::Request &req) {
        later.emplace_back([kept = req] { kept.respond("later"); });
    });

    EXPECT_EQ(nc.request("echo", "hi", T(2s)).data(), "hi!");
    EXPECT_EQ(nc.request("math.double", "21", T(2s)).data(), "42");
    EXPECT_EQ(nc.request("later", "", T(2s)).data(), "later");
    for (auto &thread : later) thread.join();

    auto pings = snats::micro::ping(nc, T(500ms), "cppsvc");
    EXPECT_EQ(json_array_size(pings.get()), 1u);
    auto info = service.info();
    EXPECT_EQ(std::string(json_string_value(json_object_get(info.get(), "version"))), "1.2.3");
    EXPECT_EQ(json_array_size(json_object_get(info.get(), "endpoints")), 3u);
    EXPECT(!service.id().empty());
    service.stop();
    EXPECT(service.stopped());
    EXPECT(eventually([&] { return done.load(); }));
}

TEST(a_throwing_micro_handler_answers_with_an_error) {
    auto nc = snats::Connection::connect(url());
    snats::micro::Config config("cppthrows", "0.0.1");
    auto service = snats::micro::Service::create(nc, config);
    service.add_endpoint("bad", [](const snats::micro::Request &) { throw std::runtime_error("handler broke"); });
    service.add_endpoint("custom", [](const snats::micro::Request &req) { req.respond_error("409", "conflict", "body"); });
    auto reply = nc.request("bad", "", T(2s));
    EXPECT(reply.headers().get("Nats-Service-Error-Code") == std::optional<std::string_view>("500"));
    EXPECT(reply.headers().get("Nats-Service-Error") == std::optional<std::string_view>("handler broke"));
    EXPECT(eventually([&] { return nc.callback_exceptions() == 1; }));
    auto custom = nc.request("custom", "", T(2s));
    EXPECT(custom.headers().get("Nats-Service-Error-Code") == std::optional<std::string_view>("409"));
    EXPECT_EQ(custom.data(), "body");
    auto stats = service.stats();
    json_t *endpoints = json_object_get(stats.get(), "endpoints");
    EXPECT_EQ(integer(snats::Json::borrow(json_array_get(endpoints, 0)), "num_errors"), 1);
}

TEST(rpc_methods_results_errors_streams_and_async_calls) {
    auto nc = snats::Connection::connect(url());
    snats::rpc::Server server(nc, "cppns");
    server.add("add", [](const snats::Json &params) {
        json_int_t sum = 0;
        size_t i;
        json_t *item;
        json_array_foreach(params.get(), i, item) sum += json_integer_value(item);
        return snats::Json::adopt(json_integer(sum));
    }, snats::Json(), "adds numbers");
    server.add("refuse", [](const snats::Json &) -> snats::Json {
        throw snats::rpc::Fail(-32000, "refused", snats::Json::parse(R"({"why": "test"})"));
    });
    server.add("broken", [](const snats::Json &) -> snats::Json { throw std::runtime_error("it broke"); });
    server.add_request("deferred", [](const snats::rpc::Request &req) {
        std::thread([kept = req] { kept.respond(snats::Json::parse(R"("from a thread")")); }).detach();
    });
    server.add_stream("count", [](const snats::rpc::Request &req) {
        int n = static_cast<int>(json_integer_value(json_object_get(req.params().get(), "n")));
        for (int i = 0; i < n; i++) req.send_item(snats::Json::adopt(json_integer(i)));
        req.end_stream();
    });
    server.start();
    EXPECT(!server.id().empty());

    snats::rpc::Client client(nc, "cppns");
    EXPECT_EQ(json_integer_value(client.call("add", snats::Json::parse("[1, 2, 39]"), T(2s)).get()), 42);
    try {
        client.call("refuse", snats::Json(), T(2s));
        EXPECT(!"refuse did not throw");
    } catch (const snats::rpc::RpcError &e) {
        EXPECT_EQ(e.code(), -32000);
        EXPECT_EQ(e.status(), SNATS_RPC_ERROR);
        EXPECT(e.error().dump().find("test") != std::string::npos);
    }
    try {
        client.call("broken", snats::Json(), T(2s));
        EXPECT(!"broken did not throw");
    } catch (const snats::rpc::RpcError &e) {
        EXPECT_EQ(e.code(), -32603);
        EXPECT(e.error().dump().find("it broke") != std::string::npos);
    }
    EXPECT(eventually([&] { return nc.callback_exceptions() == 1; }));
    try {
        client.call("missing", snats::Json(), T(2s));
        EXPECT(!"missing did not throw");
    } catch (const snats::rpc::RpcError &e) {
        EXPECT_EQ(e.code(), -32601);
    }
    EXPECT_EQ(client.call("deferred", snats::Json(), T(2s)).dump(), R"("from a thread")");

    auto stream = client.call_stream("count", snats::Json::parse(R"({"n": 5})"), T(2s));
    std::vector<json_int_t> items;
    while (auto item = stream.next()) items.push_back(json_integer_value(item->get()));
    EXPECT_EQ(items.size(), 5u);
    EXPECT_EQ(items[4], 4);

    std::atomic<int> outcome{0};
    client.call_async("add", snats::Json::parse("[20, 22]"), T(2s),
                      [&](snats_status status, const snats::Json &result, const snats::Json &error) {
                          outcome = status == SNATS_OK && !error ? static_cast<int>(json_integer_value(result.get())) : -1;
                      });
    EXPECT(eventually([&] { return outcome.load() != 0; }));
    EXPECT_EQ(outcome.load(), 42);

    auto methods = client.describe(T(2s));
    EXPECT(methods.dump().find("adds numbers") != std::string::npos);
    auto batch = client.call_batch(snats::Json::parse(R"([{"method": "add", "params": [1, 1]}, {"method": "missing"}])"), T(2s));
    EXPECT_EQ(json_array_size(batch.get()), 2u);
    EXPECT_EQ(json_integer_value(json_object_get(json_array_get(batch.get(), 0), "result")), 2);
    EXPECT(json_object_get(json_array_get(batch.get(), 1), "error") != nullptr);
    server.stop();
}
