// tour.cpp - swiftnats from C++17, in one program: publish/subscribe with a lambda, request and
// reply, a micro service and its discovery, a JSON-RPC method, and (when the server runs with
// -js) a JetStream stream and a Key-Value bucket.
//
//   g++ -std=c++17 tour.cpp $(pkg-config --cflags --libs swiftnats) -o tour
//   ./tour nats://127.0.0.1:4222
#include <swiftnats.hpp>

#include <atomic>
#include <cctype>
#include <iostream>
#include <thread>

using namespace std::chrono_literals;

int main(int argc, char **argv) {
    try {
        snats::Options options;
        options.url(argc > 1 ? argv[1] : "nats://127.0.0.1:4222")
            .name("cpp-tour")
            .on_error([](snats_status status, std::string_view text, std::string_view subject) {
                std::cerr << "async error " << snats_status_text(status) << ": " << text << " " << subject << "\n";
            });
        auto nc = snats::Connection::connect(options);
        std::cout << "connected to " << nc.connected_url() << "\n";

        // Publish/subscribe: the callback is any callable; this one captures a counter.
        std::atomic<int> received{0};
        auto sub = nc.subscribe("tour.greetings", [&](const snats::Msg &msg) {
            std::cout << "received on " << msg.subject() << ": " << msg.data() << "\n";
            received++;
        });
        nc.publish("tour.greetings", "hello from C++");
        nc.publish("tour.greetings", "with headers", snats::Headers{{"Lang", "C++"}});
        nc.flush(2s);

        // Request/reply, and the non-throwing form for a request nobody answers.
        auto echo = nc.subscribe("tour.echo", [](const snats::Msg &msg) { msg.respond(std::string("echo: ") + std::string(msg.data())); });
        std::cout << nc.request("tour.echo", "ping", 2s).data() << "\n";
        std::error_code ec;
        nc.request("tour.nobody", "", 500ms, ec);
        std::cout << "a request nobody answers: " << ec.message() << "\n";

        // A micro service (ADR-32), found by discovery.
        snats::micro::Config config("tour", "1.0.0");
        config.description("the C++ tour's service");
        auto service = snats::micro::Service::create(nc, config);
        snats::micro::EndpointConfig upper_config;
        upper_config.subject("tour.upper");
        service.add_endpoint("upper", [](const snats::micro::Request &req) {
            std::string text(req.data());
            for (auto &c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            req.respond(text);
        }, &upper_config);
        std::cout << nc.request("tour.upper", "shout", 2s).data() << "\n";
        std::cout << "services answering PING: " << json_array_size(snats::micro::ping(nc, 300ms, "tour").get()) << "\n";

        // JSON-RPC: a method returns its result; a thrown rpc::Fail is the caller's RpcError.
        snats::rpc::Server rpc_server(nc, "tour");
        rpc_server.add("divide", [](const snats::Json &params) {
            double a = json_number_value(json_array_get(params.get(), 0));
            double b = json_number_value(json_array_get(params.get(), 1));
            if (b == 0) throw snats::rpc::Fail(-32000, "division by zero");
            return snats::Json::adopt(json_real(a / b));
        });
        rpc_server.start();
        snats::rpc::Client rpc(nc, "tour");
        std::cout << "divide(1, 4) = " << rpc.call("divide", snats::Json::parse("[1, 4]"), 2s).dump() << "\n";
        try {
            rpc.call("divide", snats::Json::parse("[1, 0]"), 2s);
        } catch (const snats::rpc::RpcError &e) {
            std::cout << "divide(1, 0) failed: " << e.code() << " " << e.what() << "\n";
        }

        // JetStream, when the server has it.
        snats::js::JetStream js(nc);
        try {
            js.account_info();
        } catch (const snats::Error &e) {
            std::cout << "no JetStream here (" << e.what() << "): the tour ends\n";
            return received == 2 ? 0 : 1;
        }
        js.add_stream(snats::Json::parse(R"({"name": "TOUR", "subjects": ["tour.orders.>"]})"));
        auto ack = js.publish("tour.orders.new", "order 1");
        std::cout << "stored in " << ack.stream << " at " << ack.seq << "\n";
        auto kv = snats::js::KeyValue::create(js, "tour");
        kv.put("color", "blue");
        std::cout << "color = " << kv.get("color")->value() << "\n";
        snats::js::KeyValue::remove_bucket(js, "tour");
        js.delete_stream("TOUR");
        return received == 2 ? 0 : 1;
    } catch (const snats::Error &e) {
        std::cerr << "failed: " << snats_status_text(e.status()) << ": " << e.what() << "\n";
        return 1;
    }
}
