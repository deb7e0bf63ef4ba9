// swiftnats C++ layer: namespaced JSON-RPC (docs/RPC.md). Included by <swiftnats.hpp>.
#ifndef SWIFTNATS_RPC_HPP
#define SWIFTNATS_RPC_HPP

#include <mutex>
#include <optional>
#include <vector>

#include "connection.hpp"

namespace snats::rpc {

/** SNATS_RPC_ERROR: the remote method answered with an error object ({code, message, data?}). */
class RpcError : public Error {
public:
    RpcError(const std::string &text, Json error) : Error(SNATS_RPC_ERROR, text), error_(std::move(error)) {}
    /** The error object. */
    const Json &error() const noexcept { return error_; }
    /** Its code (-32601 no such method, -32602 bad params, -32603 internal...), or 0. */
    int code() const noexcept {
        json_t *code = error_ ? json_object_get(error_.get(), "code") : nullptr;
        return code && json_is_integer(code) ? static_cast<int>(json_integer_value(code)) : 0;
    }

private:
    Json error_;
};

/** Thrown by a handler to answer with a JSON-RPC error of its choosing (else an exception
 *  answers -32603 "Internal error" with its what()). */
class Fail : public std::runtime_error {
public:
    Fail(int code, const std::string &message, Json details = Json())
        : std::runtime_error(message), code_(code), details_(std::move(details)) {}
    int code() const noexcept { return code_; }
    const Json &details() const noexcept { return details_; }

private:
    int code_;
    Json details_;
};

/** A call being served (snats_rpc_request). The one a handler receives is lent for the call;
 *  copying it keeps it (snats_rpc_request_retain()) to answer later, from any thread. */
class Request {
public:
    static Request lend(snats_rpc_request *req) noexcept { return Request(req, false); }
    Request(const Request &other) noexcept : req_(snats_rpc_request_retain(other.req_)), owned_(req_ != nullptr) {}
    Request &operator=(Request other) noexcept {
        std::swap(req_, other.req_);
        std::swap(owned_, other.owned_);
        return *this;
    }
    ~Request() {
        if (owned_) snats_rpc_request_release(req_);
    }
    std::string_view method() const noexcept {
        const char *method = snats_rpc_request_method(req_);
        return method ? method : "";
    }
    /** The parameters: an object or an array ({} when the caller sent none). */
    Json params() const noexcept { return Json::borrow(snats_rpc_request_params(req_)); }
    void respond(const Json &result) const { detail::check(snats_rpc_request_respond(req_, result.get())); }
    /** One item of a streamed result (a method registered with add_stream()). */
    void send_item(const Json &item) const { detail::check(snats_rpc_request_send_item(req_, item.get())); }
    void end_stream() const { detail::check(snats_rpc_request_end_stream(req_)); }
    /** Answers -32603 with @p message (and @p traceback when not empty). */
    void fail(std::string_view message, std::string_view traceback = {}) const {
        detail::CString m(message), t(traceback);
        detail::check(m.valid() && t.valid() ? snats_rpc_request_fail(req_, m.c_str(), t.or_null()) : detail::nul_inside);
    }
    void error(int code, std::string_view message, const Json &details = Json()) const {
        detail::CString m(message);
        detail::check(m.valid() ? snats_rpc_request_error(req_, code, m.c_str(), details.get()) : detail::nul_inside);
    }
    snats_rpc_request *get() const noexcept { return req_; }

private:
    Request(snats_rpc_request *req, bool owned) noexcept : req_(req), owned_(owned) {}
    snats_rpc_request *req_;
    bool owned_;
};

namespace detail {
// A method's handler, found through the registry (a server's destroy may return while a
// handler still runs, as a micro service's does).
struct Method {
    std::function<Json(const Json &)> returning;   // add(): the result is the answer
    std::function<void(const Request &)> answering;  // add_request(), add_stream(): it answers
    std::shared_ptr<snats::detail::ConnShared> conn;

    static void handle(snats_rpc_request *req, const json_t *params, void *closure) noexcept {
        std::shared_ptr<Method> method = snats::detail::Registry::find<Method>(closure);
        if (!method) {
            snats::detail::discard(snats_rpc_request_fail(req, "the server is gone", nullptr));
            return;
        }
        try {
            if (method->returning) {
                // A result that cannot be sent is answered -32603 and reported by the library.
                snats::detail::discard(snats_rpc_request_respond(req, method->returning(Json::borrow(params)).get()));
            } else {
                method->answering(Request::lend(req));
            }
        } catch (const Fail &fail) {
            snats::detail::discard(snats_rpc_request_error(req, fail.code(), *fail.what() ? fail.what() : "failed",
                                                           fail.details().get()));
        } catch (...) {
            try {
                std::string text = snats::detail::describe(std::current_exception());
                if (text.empty()) text = "the handler threw an exception with no message";
                // Refused when the handler had answered already: the caller has its answer then.
                snats::detail::discard(snats_rpc_request_fail(req, text.c_str(), nullptr));
            } catch (...) {
                snats::detail::discard(snats_rpc_request_fail(req, "the handler threw", nullptr));
            }
            if (method->conn) method->conn->report("an RPC method handler", std::current_exception());
        }
    }
};
} // namespace detail

/** Serves methods in a namespace (snats_rpc_server). */
class Server {
public:
    /** @p root: the subject root ("" for the default). The connection must outlive the server. */
    Server(Connection &conn, std::string_view namespace_, std::string_view root = {}) : conn_(conn.shared()) {
        snats::detail::CString n(namespace_), r(root);
        snats::detail::check(n.valid() && r.valid() ? snats_rpc_server_create(&server_, conn.get(), n.c_str(), r.or_null())
                                                     : snats::detail::nul_inside);
    }
    Server(Server &&other) noexcept
        : server_(std::exchange(other.server_, nullptr)), conn_(std::move(other.conn_)), lock_(std::move(other.lock_)),
          methods_(std::move(other.methods_)) {}
    Server &operator=(Server &&other) noexcept {
        Server gone(std::move(*this));
        server_ = std::exchange(other.server_, nullptr);
        conn_ = std::move(other.conn_);
        lock_ = std::move(other.lock_);
        methods_ = std::move(other.methods_);
        return *this;
    }
    Server(const Server &) = delete;
    Server &operator=(const Server &) = delete;
    ~Server() { snats_rpc_server_destroy(server_); }

    /** A method whose result is what @p fn returns (fn: `Json(const Json &params)`). Throw
     *  rpc::Fail for a chosen error; any other exception answers -32603 with its what(). */
    Server &add(std::string_view method, std::function<Json(const Json &)> fn, const Json &params = Json(),
                std::string_view description = {}, int concurrency = 1) {
        return add_method(method, {std::move(fn), {}, conn_}, params, description, concurrency, false);
    }
    /** A method that answers itself (fn: `void(const rpc::Request &)`), now or later. */
    Server &add_request(std::string_view method, std::function<void(const Request &)> fn, const Json &params = Json(),
                        std::string_view description = {}, int concurrency = 1) {
        return add_method(method, {{}, std::move(fn), conn_}, params, description, concurrency, false);
    }
    /** A streaming method: @p fn sends items (Request::send_item) then ends (end_stream). */
    Server &add_stream(std::string_view method, std::function<void(const Request &)> fn, const Json &params = Json(),
                       std::string_view description = {}, int concurrency = 1) {
        return add_method(method, {{}, std::move(fn), conn_}, params, description, concurrency, true);
    }
    /** Starts serving (under @p prefix when not empty). */
    void start(std::string_view prefix = {}) {
        snats::detail::CString p(prefix);
        snats::detail::check(p.valid() ? snats_rpc_server_start(server_, p.or_null()) : snats::detail::nul_inside);
    }
    void stop() { snats::detail::check(snats_rpc_server_stop(server_)); }
    std::string_view id() const noexcept {
        const char *id = server_ ? snats_rpc_server_id(server_) : nullptr;
        return id ? id : "";
    }
    snats_rpc_server *get() const noexcept { return server_; }

private:
    Server &add_method(std::string_view name, detail::Method method, const Json &params, std::string_view description,
                       int concurrency, bool stream) {
        snats::detail::CString n(name), d(description);
        if (!n.valid() || !d.valid()) snats::detail::check(snats::detail::nul_inside);
        if (!method.returning && !method.answering) snats::detail::check(snats::detail::Outcome(SNATS_INVALID_ARG, "no method handler"));
        if (!lock_) snats::detail::check(snats::detail::Outcome(SNATS_INVALID_ARG, "this server was moved from"));
        snats::detail::Registered entry(std::make_shared<detail::Method>(std::move(method)));
        auto register_method = stream ? snats_rpc_server_register_stream : snats_rpc_server_register;
        std::lock_guard<std::mutex> guard(*lock_);
        snats::detail::check(register_method(server_, n.c_str(), params.get(), d.or_null(), concurrency,
                                             &detail::Method::handle, entry.closure()));
        methods_.push_back(std::move(entry));
        return *this;
    }
    snats_rpc_server *server_ = nullptr;
    std::shared_ptr<snats::detail::ConnShared> conn_;
    std::unique_ptr<std::mutex> lock_ = std::make_unique<std::mutex>();
    std::vector<snats::detail::Registered> methods_;  // after server_: removed once it is destroyed
};

/** A streamed result being read (snats_rpc_stream). */
class Stream {
public:
    explicit Stream(snats_rpc_stream *stream) noexcept : stream_(stream) {}
    Stream(Stream &&other) noexcept : stream_(std::exchange(other.stream_, nullptr)) {}
    Stream &operator=(Stream &&other) noexcept {
        std::swap(stream_, other.stream_);
        return *this;
    }
    Stream(const Stream &) = delete;
    Stream &operator=(const Stream &) = delete;
    ~Stream() { snats_rpc_stream_destroy(stream_); }
    /** The next item, or nullopt at the end. Blocks up to the call's timeout per item. Throws
     *  RpcError when the stream ended with an error, Error(SNATS_TIMEOUT) (call again)... */
    std::optional<Json> next() {
        json_t *item = nullptr, *error = nullptr;
        snats_status status = snats_rpc_stream_next(&item, &error, stream_);
        if (status == SNATS_RPC_ERROR) throw RpcError(snats_last_error(), Json::adopt(error));
        snats_json_decref(error);
        snats::detail::check(status);
        if (!item) return std::nullopt;
        return Json::adopt(item);
    }
    snats_rpc_stream *get() const noexcept { return stream_; }

private:
    snats_rpc_stream *stream_;
};

/** Calls the methods of a namespace (snats_rpc_client). */
class Client {
public:
    Client(Connection &conn, std::string_view namespace_) : conn_(conn.shared()) {
        snats::detail::CString n(namespace_);
        snats::detail::check(n.valid() ? snats_rpc_client_create(&client_, conn.get(), n.c_str()) : snats::detail::nul_inside);
    }
    Client(Client &&other) noexcept : client_(std::exchange(other.client_, nullptr)), conn_(std::move(other.conn_)) {}
    Client &operator=(Client &&other) noexcept {
        Client gone(std::move(*this));
        client_ = std::exchange(other.client_, nullptr);
        conn_ = std::move(other.conn_);
        return *this;
    }
    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;
    /** Fails the calls still waiting (their callbacks run, on this thread) and frees the client. */
    ~Client() { snats_rpc_client_destroy(client_); }

    /** Calls @p method and waits for its result. Blocks up to @p timeout. Throws RpcError (the
     *  method's error object), Error (SNATS_TIMEOUT, SNATS_CALL_LOST, ...). */
    Json call(std::string_view method, const Json &params, milliseconds timeout) {
        snats::detail::CString m(method);
        if (!m.valid()) snats::detail::check(snats::detail::nul_inside);
        json_t *result = nullptr, *error = nullptr;
        snats_status status = snats_rpc_client_call(&result, &error, client_, m.c_str(), params.get(), timeout.count());
        if (status == SNATS_RPC_ERROR) throw RpcError(snats_last_error(), Json::adopt(error));
        snats_json_decref(error);
        snats::detail::check(status);
        return Json::adopt(result);
    }
    /** Calls without blocking: @p fn(status, result, error) runs once (SNATS_OK with the result,
     *  SNATS_RPC_ERROR with the error object, or a local failure with neither). */
    template <class Fn> void call_async(std::string_view method, const Json &params, milliseconds timeout, Fn &&fn) {
        snats::detail::CString m(method);
        if (!m.valid()) snats::detail::check(snats::detail::nul_inside);
        using Stored = std::decay_t<Fn>;
        snats::detail::check(snats::detail::start_once(std::forward<Fn>(fn), conn_, "an RPC call_async completion", [&](void *once) {
            return snats_rpc_client_call_cb(client_, m.c_str(), params.get(), timeout.count(), &on_result<Stored>, once);
        }));
    }
    /** Several calls in one request: @p calls is an array of {"method", "params"}; the result an
     *  array of {"result"} or {"error"} in the same order. */
    Json call_batch(const Json &calls, milliseconds timeout) {
        json_t *results = nullptr;
        snats::detail::check(snats_rpc_client_call_batch(&results, client_, calls.get(), timeout.count()));
        return Json::adopt(results);
    }
    /** Starts a streamed call; read it with Stream::next(). @p timeout is per item. */
    Stream call_stream(std::string_view method, const Json &params, milliseconds timeout) {
        snats::detail::CString m(method);
        snats_rpc_stream *stream = nullptr;
        snats::detail::check(m.valid() ? snats_rpc_client_call_stream(&stream, client_, m.c_str(), params.get(), timeout.count())
                                       : snats::detail::nul_inside);
        return Stream(stream);
    }
    /** The namespace's methods and their descriptions. */
    Json describe(milliseconds timeout) {
        json_t *methods = nullptr;
        snats::detail::check(snats_rpc_client_describe(&methods, client_, timeout.count()));
        return Json::adopt(methods);
    }
    /** Liveness frames: a call whose server goes silent for two intervals ends SNATS_CALL_LOST. */
    void set_heartbeat(milliseconds interval) { snats::detail::check(snats_rpc_client_set_heartbeat(client_, interval.count())); }
    snats_rpc_client *get() const noexcept { return client_; }

private:
    template <class Fn> static void on_result(snats_status status, const json_t *result, const json_t *error, void *closure) {
        snats::detail::finish_once<Fn>(closure, status, result ? Json::borrow(result) : Json(), error ? Json::borrow(error) : Json());
    }
    snats_rpc_client *client_ = nullptr;
    std::shared_ptr<snats::detail::ConnShared> conn_;
};

} // namespace snats::rpc

#endif
