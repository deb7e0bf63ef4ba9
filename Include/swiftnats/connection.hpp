// swiftnats C++ layer: connections. Included by <swiftnats.hpp>.
#ifndef SWIFTNATS_CONNECTION_HPP
#define SWIFTNATS_CONNECTION_HPP

#include "subscription.hpp"

namespace snats {

/**
 * A connection (snats_conn): move-only; destroying it closes it (and waits for a callback
 * running on another thread). Every method may be called from any thread, callbacks included.
 * Each throwing method has a non-throwing form taking `std::error_code &` where a failure is
 * part of normal operation (publish, request, flush, next_msg).
 */
class Connection {
public:
    Connection() noexcept = default;
    /** Connects to one URL or a comma-separated list. Blocks until connected or failed. */
    static Connection connect(std::string_view urls) {
        Options options;
        options.url(urls);
        return connect(options);
    }
    /** Connects with @p options; the connection keeps its own copies of their callables. */
    static Connection connect(const Options &options) {
        std::shared_ptr<detail::ConnShared> shared;
        snats_conn *conn = nullptr;
        detail::check(start(&conn, options, shared));
        return Connection(conn, std::move(shared));
    }
    /** The non-throwing form (it throws only std::bad_alloc). */
    static Connection connect(const Options &options, std::error_code &ec) {
        std::shared_ptr<detail::ConnShared> shared;
        snats_conn *conn = nullptr;
        detail::report(start(&conn, options, shared), ec);
        return conn ? Connection(conn, std::move(shared)) : Connection();
    }
    Connection(Connection &&other) noexcept : conn_(std::exchange(other.conn_, nullptr)), shared_(std::move(other.shared_)) {}
    Connection &operator=(Connection &&other) noexcept {
        Connection gone(std::move(*this));
        conn_ = std::exchange(other.conn_, nullptr);
        shared_ = std::move(other.shared_);
        return *this;
    }
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;
    ~Connection() { snats_conn_destroy(conn_); }

    explicit operator bool() const noexcept { return conn_ != nullptr; }

    void publish(std::string_view subject, Payload data = {}) {
        detail::check(publish_status(subject, {}, nullptr, data));
    }
    /** The non-throwing form (it throws only std::bad_alloc, for a subject of 128 bytes or more). */
    void publish(std::string_view subject, Payload data, std::error_code &ec) {
        detail::report(publish_status(subject, {}, nullptr, data), ec);
    }
    void publish(std::string_view subject, Payload data, const HeadersView &headers) {
        detail::check(publish_status(subject, {}, headers.get(), data));
    }
    /** Publishes with a reply subject (and headers when @p headers is not empty). */
    void publish_request(std::string_view subject, std::string_view reply, Payload data,
                         const HeadersView &headers = HeadersView()) {
        detail::check(publish_status(subject, reply, headers.get(), data));
    }

    /**
     * Sends a request and waits for the first reply. Blocks up to @p timeout. Throws Error:
     * SNATS_TIMEOUT, SNATS_NO_RESPONDERS, SNATS_CONNECTION_CLOSED...
     */
    Msg request(std::string_view subject, Payload data, milliseconds timeout,
                const HeadersView &headers = HeadersView()) {
        snats_msg *reply = nullptr;
        detail::check(request_status(&reply, subject, headers.get(), data, timeout));
        return Msg::adopt(reply);
    }
    Msg request(std::string_view subject, Payload data, milliseconds timeout, std::error_code &ec) {
        snats_msg *reply = nullptr;
        detail::report(request_status(&reply, subject, nullptr, data, timeout), ec);
        return Msg::adopt(reply);
    }
    /**
     * Sends a request without blocking; @p fn(status, reply) runs once with the outcome (the
     * reply lent for the call, empty unless status is SNATS_OK), as snats_reply_handler says.
     * Throws (and never calls @p fn) when the request cannot be sent.
     */
    template <class Fn>
    void request_async(std::string_view subject, Payload data, milliseconds timeout, Fn &&fn,
                       const HeadersView &headers = HeadersView()) {
        detail::CString s(subject);
        if (!s.valid()) detail::check(detail::nul_inside);
        using Stored = std::decay_t<Fn>;
        detail::check(detail::start_once(std::forward<Fn>(fn), shared_, "a request_async completion", [&](void *once) {
            return snats_request_msg_async(conn_, s.c_str(), headers.get(), data.data(), data.size(), timeout.count(),
                                           &on_reply<Stored>, once);
        }));
    }

    /** Sends a PING and waits for the PONG: everything published before is at the server. */
    void flush(milliseconds timeout) { detail::check(snats_conn_flush(conn_, timeout.count())); }
    void flush(milliseconds timeout, std::error_code &ec) noexcept {
        detail::report(snats_conn_flush(conn_, timeout.count()), ec);
    }
    /** Drains every subscription, then closes. Blocks up to @p timeout. */
    void drain(milliseconds timeout) { detail::check(snats_conn_drain(conn_, timeout.count())); }
    /** Closes (the handle stays valid until destroyed). */
    void close() noexcept { snats_conn_close(conn_); }
    bool closed() const noexcept { return !conn_ || snats_conn_is_closed(conn_); }
    snats_conn_state state() const {
        snats_conn_state state = SNATS_CONN_CLOSED;
        detail::check(snats_conn_get_state(&state, conn_));
        return state;
    }
    /** Blocks until connected (after retry_on_failed_connect, or while reconnecting). */
    void wait_connected(milliseconds timeout) { detail::check(snats_conn_wait_connected(conn_, timeout.count())); }
    std::chrono::microseconds rtt(milliseconds timeout) {
        int64_t rtt = 0;
        detail::check(snats_conn_rtt(&rtt, conn_, timeout.count()));
        return std::chrono::microseconds(rtt);
    }
    int64_t max_payload() const {
        int64_t max = 0;
        detail::check(snats_conn_get_max_payload(&max, conn_));
        return max;
    }
    std::string connected_url() const {
        char buffer[1024];
        detail::check(snats_conn_get_connected_url(buffer, sizeof buffer, conn_));
        return buffer;
    }
    /** A new unique inbox subject (with the connection's inbox prefix). */
    std::string new_inbox() const {
        char buffer[256];
        detail::check(snats_conn_new_inbox(buffer, sizeof buffer, conn_));
        return buffer;
    }
    /** The server's INFO. */
    Json server_info() const {
        json_t *info = nullptr;
        detail::check(snats_conn_get_server_info(&info, conn_));
        return Json::adopt(info);
    }
    struct Stats {
        uint64_t in_msgs, in_bytes, out_msgs, out_bytes;
    };
    Stats stats() const {
        Stats s{};
        detail::check(snats_conn_get_stats(&s.in_msgs, &s.in_bytes, &s.out_msgs, &s.out_bytes, conn_));
        return s;
    }
    /** How many times a C++ callback of this connection threw (each also reported: on_error). */
    uint64_t callback_exceptions() const noexcept {
        return shared_ ? shared_->callback_exceptions.load(std::memory_order_relaxed) : 0;
    }

    /**
     * Subscribes @p fn (any callable taking `const Msg&`): it runs on the library's delivery
     * threads, one message at a time, in order. An exception it throws is counted and reported
     * (Options::on_error), and delivery goes on.
     */
    Subscription subscribe(std::string_view subject, MsgHandler fn) { return subscribe_with(subject, {}, std::move(fn)); }
    /** The same in a queue group: each message goes to one member of @p queue. */
    Subscription queue_subscribe(std::string_view subject, std::string_view queue, MsgHandler fn) {
        if (queue.empty()) detail::check(detail::Outcome(SNATS_INVALID_ARG, "an empty queue group"));
        return subscribe_with(subject, queue, std::move(fn));
    }
    /** A synchronous subscription: read it with Subscription::next_msg(). */
    Subscription subscribe_sync(std::string_view subject, std::string_view queue = {}) {
        detail::CString s(subject), q(queue);
        snats_sub *sub = nullptr;
        detail::check(!s.valid() || !q.valid() ? detail::nul_inside
                      : queue.empty()          ? snats_subscribe_sync(&sub, conn_, s.c_str())
                                               : snats_queue_subscribe_sync(&sub, conn_, s.c_str(), q.c_str()));
        return Subscription(sub, detail::Registered());
    }

    snats_conn *get() const noexcept { return conn_; }
    /** For the layers built on a connection (micro, RPC, JetStream). */
    const std::shared_ptr<detail::ConnShared> &shared() const noexcept { return shared_; }

private:
    // Moved-from Options must not mean the defaults (NULL options connect to 127.0.0.1:4222).
    static detail::Outcome start(snats_conn **conn, const Options &options, std::shared_ptr<detail::ConnShared> &shared) {
        if (!options.options_ || !options.shared_) return detail::Outcome(SNATS_INVALID_ARG, "these Options were moved from");
        shared = std::make_shared<detail::ConnShared>(*options.shared_);
        snats_status status = shared->install(options.options_);
        return status != SNATS_OK ? status : snats_conn_connect(conn, options.options_);
    }
    Connection(snats_conn *conn, std::shared_ptr<detail::ConnShared> shared) noexcept
        : conn_(conn), shared_(std::move(shared)) {}

    detail::Outcome publish_status(std::string_view subject, std::string_view reply, const snats_headers *headers,
                                   Payload data) {
        detail::CString s(subject), r(reply);
        if (!s.valid() || !r.valid()) return detail::nul_inside;
        if (!headers && reply.empty()) return snats_publish(conn_, s.c_str(), data.data(), data.size());
        return snats_publish_msg(conn_, s.c_str(), r.or_null(), headers, data.data(), data.size());
    }
    detail::Outcome request_status(snats_msg **reply, std::string_view subject, const snats_headers *headers,
                                   Payload data, milliseconds timeout) {
        detail::CString s(subject);
        if (!s.valid()) return detail::nul_inside;
        return snats_request_msg(reply, conn_, s.c_str(), headers, data.data(), data.size(), timeout.count());
    }
    Subscription subscribe_with(std::string_view subject, std::string_view queue, MsgHandler fn) {
        detail::CString s(subject), q(queue);
        if (!s.valid() || !q.valid()) detail::check(detail::nul_inside);
        if (!fn) detail::check(detail::Outcome(SNATS_INVALID_ARG, "no message handler"));
        detail::Registered state(std::make_shared<Subscription::State>(Subscription::State{std::move(fn), shared_}));
        snats_sub *sub = nullptr;
        detail::check(queue.empty() ? snats_subscribe(&sub, conn_, s.c_str(), &Subscription::deliver, state.closure())
                                    : snats_queue_subscribe(&sub, conn_, s.c_str(), q.c_str(), &Subscription::deliver, state.closure()));
        return Subscription(sub, std::move(state));
    }
    template <class Fn> static void on_reply(snats_conn *, snats_status status, snats_msg *reply, void *closure) {
        detail::finish_once<Fn>(closure, status, Msg::lend(reply));
    }

    snats_conn *conn_ = nullptr;
    std::shared_ptr<detail::ConnShared> shared_;
};


} // namespace snats

#endif
