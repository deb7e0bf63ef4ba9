// swiftnats C++ layer: subscriptions. Included by <swiftnats.hpp>.
#ifndef SWIFTNATS_SUBSCRIPTION_HPP
#define SWIFTNATS_SUBSCRIPTION_HPP

#include "message.hpp"
#include "options.hpp"

namespace snats {

/** A message callback: any callable taking `const Msg&` (lent for the call: copy to keep). */
using MsgHandler = std::function<void(const Msg &)>;

/**
 * A subscription (snats_sub): move-only. Destroying it unsubscribes; no call of its handler
 * starts after that, and the handler (with what it captured) is freed when a call still
 * running returns (or at once). What the handler captures by reference must outlive such a
 * call: snats_sub_destroy() waits for it, except on a callback thread of the connection.
 */
class Subscription {
public:
    Subscription() noexcept = default;
    Subscription(Subscription &&other) noexcept
        : sub_(std::exchange(other.sub_, nullptr)), state_(std::move(other.state_)) {}
    Subscription &operator=(Subscription &&other) noexcept {
        Subscription gone(std::move(*this));
        sub_ = std::exchange(other.sub_, nullptr);
        state_ = std::move(other.state_);
        return *this;
    }
    Subscription(const Subscription &) = delete;
    Subscription &operator=(const Subscription &) = delete;
    ~Subscription() { snats_sub_destroy(sub_); }  // then state_ goes: see detail::Registry

    explicit operator bool() const noexcept { return sub_ != nullptr; }
    /** Still receiving: not unsubscribed, drained, or done with its auto-unsubscribe count. */
    bool valid() const noexcept { return sub_ && snats_sub_is_valid(sub_); }
    std::string_view subject() const noexcept {
        const char *subject = sub_ ? snats_sub_subject(sub_) : nullptr;
        return subject ? subject : "";
    }

    /**
     * The next message of a synchronous subscription. Blocks up to @p timeout (0: only what is
     * queued now). Throws Error: SNATS_TIMEOUT, SNATS_SLOW_CONSUMER (messages were dropped;
     * call again for the next), SNATS_INVALID_SUBSCRIPTION, SNATS_CONNECTION_CLOSED...
     */
    Msg next_msg(milliseconds timeout) {
        snats_msg *msg = nullptr;
        detail::check(snats_sub_next_msg(&msg, sub_, timeout.count()));
        return Msg::adopt(msg);
    }
    /** The non-throwing form: an empty Msg and @p ec set on failure. */
    Msg next_msg(milliseconds timeout, std::error_code &ec) noexcept {
        snats_msg *msg = nullptr;
        detail::report(snats_sub_next_msg(&msg, sub_, timeout.count()), ec);
        return Msg::adopt(msg);
    }

    void unsubscribe() { detail::check(snats_sub_unsubscribe(sub_)); }
    /** Unsubscribes after @p max messages in all. */
    void auto_unsubscribe(int max) { detail::check(snats_sub_auto_unsubscribe(sub_, max)); }
    /** Stops interest, lets the queued messages be handled, then ends. Blocks up to @p timeout. */
    void drain(milliseconds timeout) { detail::check(snats_sub_drain(sub_, timeout.count())); }
    void set_pending_limits(int max_msgs, int64_t max_bytes) {
        detail::check(snats_sub_set_pending_limits(sub_, max_msgs, max_bytes));
    }
    /** Messages and bytes queued, not yet delivered. */
    std::pair<int, int64_t> pending() const {
        int msgs = 0;
        int64_t bytes = 0;
        detail::check(snats_sub_get_pending(&msgs, &bytes, sub_));
        return {msgs, bytes};
    }
    uint64_t delivered() const { return counter(snats_sub_get_delivered); }
    /** Messages dropped because the pending limits were hit. */
    uint64_t dropped() const { return counter(snats_sub_get_dropped); }

    snats_sub *get() const noexcept { return sub_; }

    // For the layers that make subscriptions (Connection, JetStream).
    struct State {
        MsgHandler handler;
        std::shared_ptr<detail::ConnShared> shared;
    };
    static void deliver(snats_conn *, snats_sub *, snats_msg *msg, void *closure) noexcept {
        std::shared_ptr<State> state = detail::Registry::find<State>(closure);
        if (!state) return;  // the Subscription is gone: unsubscribed
        try {
            state->handler(Msg::lend(msg));
        } catch (...) {
            if (state->shared) state->shared->report("a subscription's message handler", std::current_exception());
        }
    }
    Subscription(snats_sub *sub, detail::Registered state) noexcept : sub_(sub), state_(std::move(state)) {}

private:
    uint64_t counter(snats_status (*get)(uint64_t *, snats_sub *)) const {
        uint64_t value = 0;
        detail::check(get(&value, sub_));
        return value;
    }
    snats_sub *sub_ = nullptr;
    detail::Registered state_;  // after sub_: removed once snats_sub_destroy has returned
};

} // namespace snats

#endif
