// The C++ layer's JetStream: streams, publishing, fetching, consuming, Key-Value, Object Store.
#include "harness.hpp"

#include <atomic>
#include <mutex>

using namespace harness;

TEST(jetstream_publish_fetch_and_ack) {
    auto nc = snats::Connection::connect(url());
    snats::js::JetStream js(nc);
    EXPECT_STATUS(js.delete_stream("CPPORDERS"), snats::Error, SNATS_NOT_FOUND);  // a fresh server
    js.add_stream(snats::Json::parse(R"({"name": "CPPORDERS", "subjects": ["cpporders.>"]})"));
    auto ack = js.publish("cpporders.new", "one");
    EXPECT_EQ(ack.stream, "CPPORDERS");
    EXPECT_EQ(ack.seq, 1u);
    auto again = js.publish("cpporders.new", "one", snats::HeadersView(), snats::Json::parse(R"({"msg_id": "m1"})"));
    auto duplicate = js.publish("cpporders.new", "one", snats::HeadersView(), snats::Json::parse(R"({"msg_id": "m1"})"));
    EXPECT(!again.duplicate && duplicate.duplicate);
    EXPECT_STATUS(js.publish("cpporders.new", "x", snats::HeadersView(), snats::Json::parse(R"({"expected_last_seq": 1})")),
                  snats::JsApiError, SNATS_JS_API_ERROR);

    std::atomic<int> acked{0};
    for (int i = 0; i < 20; i++) {
        js.publish_async("cpporders.bulk", std::to_string(i), [&](snats_status status, const snats::js::PubAck &a) {
            if (status == SNATS_OK && a.stream == "CPPORDERS") acked++;
        });
    }
    js.publish_async_complete(T(5s));
    EXPECT_EQ(acked.load(), 20);
    EXPECT_STATUS(js.publish("cppnostream.x", "x"), snats::Error, SNATS_NO_RESPONDERS);

    js.add_consumer("CPPORDERS", snats::Json::parse(R"({"durable_name": "worker", "ack_policy": "explicit"})"));
    auto msgs = js.fetch("CPPORDERS", "worker", 10, T(2s));
    EXPECT_EQ(msgs.size(), 10u);
    EXPECT_EQ(msgs[0].data(), "one");
    for (size_t i = 0; i < 9; i++) msgs[i].ack();
    msgs[9].ack_sync(T(2s));
    EXPECT_STATUS(msgs[9].ack(), snats::Error, SNATS_ILLEGAL_STATE);
    auto meta = msgs[9].metadata();
    EXPECT_EQ(std::string(json_string_value(json_object_get(meta.get(), "stream"))), "CPPORDERS");
    auto rest = js.fetch("CPPORDERS", "worker", 100, T(1s));
    EXPECT_EQ(rest.size(), 12u);  // 2 + 20 - 10
    for (auto &msg : rest) msg.ack();
    EXPECT(js.fetch("CPPORDERS", "worker", 5, T(300ms)).empty());  // nothing left: no exception
    auto info = js.stream_info("CPPORDERS");
    EXPECT_EQ(json_integer_value(json_object_get(json_object_get(info.get(), "state"), "messages")), 22);
    EXPECT_EQ(js.get_msg("CPPORDERS", 1).data(), "one");
    EXPECT_EQ(js.purge_stream("CPPORDERS"), 22u);
    js.delete_stream("CPPORDERS");
}

TEST(jetstream_consume_with_a_callable) {
    auto nc = snats::Connection::connect(url());
    snats::js::JetStream js(nc);
    js.add_stream(snats::Json::parse(R"({"name": "CPPCONSUME", "subjects": ["cppconsume.>"]})"));
    js.add_consumer("CPPCONSUME", snats::Json::parse(R"({"durable_name": "c", "ack_policy": "explicit"})"));
    for (int i = 0; i < 30; i++) js.publish("cppconsume.x", std::to_string(i));
    std::mutex lock;
    std::vector<std::string> got;
    {
        auto sub = js.consume("CPPCONSUME", "c", [&](const snats::Msg &msg) {
            msg.ack();
            std::lock_guard<std::mutex> guard(lock);
            got.emplace_back(msg.data());
        }, snats::Json::parse(R"({"max_messages": 7})"));
        EXPECT(eventually([&] {
            std::lock_guard<std::mutex> guard(lock);
            return got.size() == 30;
        }));
    }
    EXPECT_EQ(got[29], "29");
    auto consumer = js.consumer_info("CPPCONSUME", "c");
    EXPECT(eventually([&] {
        auto now = js.consumer_info("CPPCONSUME", "c");
        return json_integer_value(json_object_get(now.get(), "num_ack_pending")) == 0;
    }));
    js.delete_stream("CPPCONSUME");
}

TEST(key_value_bucket) {
    auto nc = snats::Connection::connect(url());
    snats::js::JetStream js(nc);
    auto kv = snats::js::KeyValue::create(js, "cppkv", snats::Json::parse(R"({"history": 5})"));
    std::mutex lock;
    std::vector<std::string> seen;
    bool initial_done = false;
    auto watcher = kv.watch(">", [&](const snats::js::KvEntry *entry) {
        std::lock_guard<std::mutex> guard(lock);
        if (!entry) {
            initial_done = true;
            return;
        }
        seen.push_back(std::string(entry->key()) + "=" + std::string(entry->value()));
    });
    auto r1 = kv.put("color", "red");
    auto r2 = kv.update("color", "blue", r1);
    EXPECT(r2 > r1);
    EXPECT_STATUS(kv.update("color", "green", r1), snats::JsApiError, SNATS_JS_API_ERROR);
    EXPECT_STATUS(kv.create("color", "again"), snats::JsApiError, SNATS_JS_API_ERROR);
    kv.create("size", "xl");
    auto entry = kv.get("color");
    EXPECT(entry && entry->value() == "blue" && entry->revision() == r2);
    EXPECT_EQ(kv.get("color", r1)->value(), "red");
    EXPECT(!kv.get("missing"));
    EXPECT_EQ(kv.history("color").size(), 2u);
    EXPECT_EQ(json_array_size(kv.keys().get()), 2u);
    kv.erase("size");
    EXPECT(!kv.get("size"));
    EXPECT(eventually([&] {
        std::lock_guard<std::mutex> guard(lock);
        return initial_done && seen.size() == 4;  // red, blue, xl, the delete
    }));
    {
        std::lock_guard<std::mutex> guard(lock);
        EXPECT_EQ(seen[1], "color=blue");
    }
    auto sync_watch = kv.watch("color");
    auto first = sync_watch.next(T(2s));
    EXPECT(first && first->value() == "blue");
    EXPECT(!sync_watch.next(T(2s)));  // the end of the initial values
    EXPECT_STATUS(sync_watch.next(T(100ms)), snats::Error, SNATS_TIMEOUT);
    EXPECT_STATUS(snats::js::KeyValue::bind(js, "cppnokv"), snats::Error, SNATS_NOT_FOUND);
    watcher.stop();
    snats::js::KeyValue::remove_bucket(js, "cppkv");
}

TEST(object_store_bucket) {
    auto nc = snats::Connection::connect(url());
    snats::js::JetStream js(nc);
    auto store = snats::js::ObjectStore::create(js, "cppobj");
    std::string big(300000, 'z');
    big[12345] = '\0';
    auto info = store.put("big.bin", big);
    EXPECT_EQ(json_integer_value(json_object_get(info.get(), "size")), 300000);
    EXPECT(store.get("big.bin") == big);
    store.put("small", "hello");
    EXPECT_EQ(json_array_size(store.list().get()), 2u);
    store.erase("small");
    EXPECT_STATUS(store.get("small"), snats::Error, SNATS_NOT_FOUND);
    EXPECT_EQ(json_array_size(store.list().get()), 1u);
    snats::js::ObjectStore::remove_bucket(js, "cppobj");
}
