// swiftnats C++ layer: JetStream streams, consumers, publishing and consuming
// (docs/JETSTREAM.md). Included by <swiftnats.hpp>.
#ifndef SWIFTNATS_JETSTREAM_HPP
#define SWIFTNATS_JETSTREAM_HPP

#include <vector>

#include "connection.hpp"

namespace snats::js {

/** What the stream said of a publish. */
struct PubAck {
    std::string stream;
    uint64_t seq = 0;
    bool duplicate = false;
    std::string domain;

    static PubAck of(const snats_js_pub_ack *ack) {
        PubAck out;
        if (!ack) return out;
        const char *domain = snats_js_pub_ack_domain(ack);
        out.stream = snats_js_pub_ack_stream(ack);
        out.seq = snats_js_pub_ack_seq(ack);
        out.duplicate = snats_js_pub_ack_duplicate(ack);
        out.domain = domain ? domain : "";
        return out;
    }
};

/** A JetStream context on a connection (snats_jetstream); the connection must outlive it, and
 *  it must outlive the KeyValue and ObjectStore buckets made from it. */
class JetStream {
public:
    /** @p options: NULL-able {"domain", "api_prefix", "timeout"...} as snats_jetstream_create(). */
    explicit JetStream(Connection &conn, const Json &options = Json()) : conn_(conn.shared()) {
        detail::check(snats_jetstream_create(&js_, conn.get(), options.get()));
    }
    JetStream(JetStream &&other) noexcept : js_(std::exchange(other.js_, nullptr)), conn_(std::move(other.conn_)) {}
    JetStream &operator=(JetStream &&other) noexcept {
        std::swap(js_, other.js_);
        std::swap(conn_, other.conn_);
        return *this;
    }
    JetStream(const JetStream &) = delete;
    JetStream &operator=(const JetStream &) = delete;
    ~JetStream() { snats_jetstream_destroy(js_); }

    /** Publishes and waits for the stream's ack. @p options: {"msg_id", "expected_stream",
     *  "expected_last_seq"...}. Throws Error (SNATS_NO_RESPONDERS: no stream takes the subject),
     *  JsApiError (a rejected expectation...). */
    PubAck publish(std::string_view subject, Payload data, const HeadersView &headers = HeadersView(),
                   const Json &options = Json()) {
        detail::CString s(subject);
        snats_js_pub_ack *ack = nullptr;
        detail::check(s.valid() ? snats_js_publish(&ack, js_, s.c_str(), headers.get(), data.data(), data.size(), options.get())
                                : detail::nul_inside);
        std::unique_ptr<snats_js_pub_ack, void (*)(snats_js_pub_ack *)> owned(ack, snats_js_pub_ack_destroy);
        return PubAck::of(ack);
    }
    /** Publishes without waiting: @p fn(status, const PubAck &) runs once with the outcome.
     *  Blocks only while the window of acks awaited is full. */
    template <class Fn>
    void publish_async(std::string_view subject, Payload data, Fn &&fn, const HeadersView &headers = HeadersView(),
                       const Json &options = Json()) {
        detail::CString s(subject);
        if (!s.valid()) detail::check(detail::nul_inside);
        using Stored = std::decay_t<Fn>;
        detail::check(detail::start_once(std::forward<Fn>(fn), conn_, "a JetStream publish_async completion", [&](void *once) {
            return snats_js_publish_async(js_, s.c_str(), headers.get(), data.data(), data.size(), options.get(),
                                          &on_ack<Stored>, once);
        }));
    }
    /** Waits until every publish_async has its outcome. */
    void publish_async_complete(milliseconds timeout) { detail::check(snats_js_publish_async_complete(js_, timeout.count())); }

    Json account_info() { return json_out([&](json_t **out) { return snats_js_account_info(out, js_); }); }
    Json add_stream(const Json &config) { return json_out([&](json_t **out) { return snats_js_stream_add(out, js_, config.get()); }); }
    Json update_stream(const Json &config) { return json_out([&](json_t **out) { return snats_js_stream_update(out, js_, config.get()); }); }
    /** Throws Error(SNATS_NOT_FOUND) when there is no such stream. */
    void delete_stream(std::string_view name) {
        detail::CString n(name);
        detail::check(n.valid() ? snats_js_stream_delete(js_, n.c_str()) : detail::nul_inside);
    }
    Json stream_info(std::string_view name) {
        detail::CString n(name);
        return json_out([&](json_t **out) { return n.valid() ? snats_js_stream_info(out, js_, n.c_str(), nullptr) : detail::nul_inside; });
    }
    /** The stream names (those holding @p subject when not empty). */
    Json stream_names(std::string_view subject = {}) {
        detail::CString s(subject);
        return json_out([&](json_t **out) { return s.valid() ? snats_js_stream_names(out, js_, s.or_null()) : detail::nul_inside; });
    }
    /** Purges a stream; returns how many messages went. */
    uint64_t purge_stream(std::string_view name, const Json &options = Json()) {
        detail::CString n(name);
        uint64_t purged = 0;
        detail::check(n.valid() ? snats_js_stream_purge(&purged, js_, n.c_str(), options.get()) : detail::nul_inside);
        return purged;
    }
    /** A stored message by sequence (or the last on @p subject when @p seq is 0). */
    Msg get_msg(std::string_view stream, uint64_t seq, std::string_view subject = {}) {
        detail::CString st(stream), su(subject);
        snats_msg *msg = nullptr;
        detail::check(st.valid() && su.valid() ? snats_js_stream_get_msg(&msg, js_, st.c_str(), seq, su.or_null())
                                               : detail::nul_inside);
        return Msg::adopt(msg);
    }
    Json add_consumer(std::string_view stream, const Json &config) {
        detail::CString s(stream);
        return json_out([&](json_t **out) { return s.valid() ? snats_js_consumer_add(out, js_, s.c_str(), config.get()) : detail::nul_inside; });
    }
    Json consumer_info(std::string_view stream, std::string_view consumer) {
        detail::CString s(stream), c(consumer);
        return json_out([&](json_t **out) {
            return s.valid() && c.valid() ? snats_js_consumer_info(out, js_, s.c_str(), c.c_str()) : detail::nul_inside;
        });
    }
    void delete_consumer(std::string_view stream, std::string_view consumer) {
        detail::CString s(stream), c(consumer);
        detail::check(s.valid() && c.valid() ? snats_js_consumer_delete(js_, s.c_str(), c.c_str()) : detail::nul_inside);
    }

    /**
     * Pulls up to @p batch messages from a pull consumer, waiting up to @p expires. An empty
     * vector when none came in time (SNATS_TIMEOUT is no error here); throws Error otherwise
     * (SNATS_NO_RESPONDERS: no such consumer, JsApiError 409...). Ack each (Msg::ack()).
     */
    std::vector<Msg> fetch(std::string_view stream, std::string_view consumer, int batch, milliseconds expires,
                           const Json &options = Json()) {
        detail::CString s(stream), c(consumer);
        if (!s.valid() || !c.valid()) detail::check(detail::nul_inside);
        if (batch <= 0) detail::check(detail::Outcome(SNATS_INVALID_ARG, "fetch: batch must be > 0"));
        std::vector<snats_msg *> slots(static_cast<size_t>(batch), nullptr);
        std::vector<Msg> out;
        out.reserve(static_cast<size_t>(batch));  // before the fetch: nothing can throw after it
        int count = 0;
        snats_status status = snats_js_fetch(slots.data(), batch, &count, js_, s.c_str(), c.c_str(), expires.count(), options.get());
        for (int i = 0; i < count; i++) out.push_back(Msg::adopt(slots[static_cast<size_t>(i)]));
        if (status != SNATS_TIMEOUT) detail::check(status);
        return out;
    }
    /**
     * Consumes a pull consumer continuously: @p fn runs for each message, as a subscription's
     * handler does (acks are yours unless the consumer acks none). An empty @p consumer: an
     * ordered consumer of the stream (options {"ordered": {...}}), as snats_js_consume(). @p options:
     * {"max_messages", "max_bytes", "expires", "heartbeat"...} as snats_js_consume().
     */
    Subscription consume(std::string_view stream, std::string_view consumer, MsgHandler fn, const Json &options = Json()) {
        detail::CString s(stream), c(consumer);
        if (!s.valid() || !c.valid()) detail::check(detail::nul_inside);
        if (!fn) detail::check(detail::Outcome(SNATS_INVALID_ARG, "no message handler"));
        detail::Registered state(std::make_shared<Subscription::State>(Subscription::State{std::move(fn), conn_}));
        snats_sub *sub = nullptr;
        detail::check(snats_js_consume(&sub, js_, s.c_str(), c.or_null(), options.get(), &Subscription::deliver, state.closure()));
        return Subscription(sub, std::move(state));
    }
    /** Any JetStream API call ("STREAM.INFO.ORDERS"...) with its JSON arguments. */
    Json call(std::string_view operation, const Json &arguments = Json()) {
        detail::CString o(operation);
        return json_out([&](json_t **out) { return o.valid() ? snats_js_call(out, js_, o.c_str(), arguments.get()) : detail::nul_inside; });
    }

    snats_jetstream *get() const noexcept { return js_; }
    const std::shared_ptr<detail::ConnShared> &shared() const noexcept { return conn_; }

private:
    template <class Call> static Json json_out(Call call) {
        json_t *out = nullptr;
        detail::check(call(&out));
        return Json::adopt(out);
    }
    template <class Fn> static void on_ack(snats_jetstream *, snats_status status, const snats_js_pub_ack *ack, void *closure) {
        PubAck out;
        try {
            out = PubAck::of(ack);
        } catch (...) {
            status = SNATS_ERR;  // only an allocation can fail here
        }
        detail::finish_once<Fn>(closure, status, static_cast<const PubAck &>(out));
    }
    snats_jetstream *js_ = nullptr;
    std::shared_ptr<detail::ConnShared> conn_;
};

} // namespace snats::js

#endif
