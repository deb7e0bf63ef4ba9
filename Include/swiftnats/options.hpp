// swiftnats C++ layer: connection options, and the state a connection's C++ callbacks share.
// Included by <swiftnats.hpp>.
#ifndef SWIFTNATS_OPTIONS_HPP
#define SWIFTNATS_OPTIONS_HPP

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

#include "error.hpp"

namespace snats {

namespace detail {

// What a connection's C++ callbacks need, one per connection (copied from the Options at
// connect, so that changing the Options later changes no live connection), shared by the
// Connection and every handle made from it, and kept while the library can call them.
struct ConnShared {
    std::function<void()> closed, disconnected, reconnected, discovered_servers, lame_duck;
    std::function<void(snats_status, std::string_view text, std::string_view subject)> error;
    std::atomic<uint64_t> callback_exceptions{0};
    // The error callable is called from the library's events and from any thread where a C++
    // callback threw: one call at a time, as the C error callback's contract promises.
    std::recursive_mutex error_lock;

    ConnShared() = default;
    ConnShared(const ConnShared &other)
        : closed(other.closed), disconnected(other.disconnected), reconnected(other.reconnected),
          discovered_servers(other.discovered_servers), lame_duck(other.lame_duck), error(other.error) {}

    // A C++ callback threw: count it, then tell the error handler (or stderr when there is none,
    // or when the handler throws too). Never lets anything out.
    void report(const char *where, std::exception_ptr thrown) noexcept {
        callback_exceptions.fetch_add(1, std::memory_order_relaxed);
        try {
            tell(std::string("swiftnats: ") + where + " threw: " + describe(thrown));
        } catch (...) {
            std::fputs("swiftnats: a callback threw, and reporting it failed\n", stderr);
        }
    }

    // A failure no caller is there to receive: to the error handler as SNATS_ERR, or stderr.
    void tell(const std::string &text) noexcept {
        try {
            std::lock_guard<std::recursive_mutex> guard(error_lock);
            if (error) {
                try {
                    error(SNATS_ERR, text, {});
                    return;
                } catch (...) {
                    std::fprintf(stderr, "%s (and the error handler threw too)\n", text.c_str());
                    return;
                }
            }
            std::fprintf(stderr, "%s\n", text.c_str());
        } catch (...) {
            std::fputs("swiftnats: reporting a failure failed\n", stderr);
        }
    }

    static void on_closed(snats_conn *, void *self) noexcept { static_cast<ConnShared *>(self)->run(&ConnShared::closed, "closed callback"); }
    static void on_disconnected(snats_conn *, void *self) noexcept { static_cast<ConnShared *>(self)->run(&ConnShared::disconnected, "disconnected callback"); }
    static void on_reconnected(snats_conn *, void *self) noexcept { static_cast<ConnShared *>(self)->run(&ConnShared::reconnected, "reconnected callback"); }
    static void on_discovered(snats_conn *, void *self) noexcept { static_cast<ConnShared *>(self)->run(&ConnShared::discovered_servers, "discovered servers callback"); }
    static void on_lame_duck(snats_conn *, void *self) noexcept { static_cast<ConnShared *>(self)->run(&ConnShared::lame_duck, "lame duck callback"); }
    static void on_error(snats_conn *, snats_sub *sub, snats_status status, const char *text, void *self) noexcept {
        auto *shared = static_cast<ConnShared *>(self);
        try {
            std::lock_guard<std::recursive_mutex> guard(shared->error_lock);
            const char *subject = sub ? snats_sub_subject(sub) : nullptr;
            if (shared->error) shared->error(status, text ? text : "", subject ? subject : "");
        } catch (...) {
            shared->callback_exceptions.fetch_add(1, std::memory_order_relaxed);
            std::fprintf(stderr, "swiftnats: the error handler threw (reporting %s)\n", text ? text : "");
        }
    }

    // Points the C options' callbacks at this state: at connect, for the connection it serves.
    snats_status install(snats_options *options) noexcept {
        snats_status status = SNATS_OK;
        // Every callback, set or cleared: none may still point at another connection's state.
        auto set = [&](bool wanted, snats_status (*setter)(snats_options *, snats_conn_handler, void *), snats_conn_handler cb) {
            if (status == SNATS_OK) status = setter(options, wanted ? cb : nullptr, this);
        };
        set(bool(closed), snats_options_set_closed_cb, &on_closed);
        set(bool(disconnected), snats_options_set_disconnected_cb, &on_disconnected);
        set(bool(reconnected), snats_options_set_reconnected_cb, &on_reconnected);
        set(bool(discovered_servers), snats_options_set_discovered_servers_cb, &on_discovered);
        set(bool(lame_duck), snats_options_set_lame_duck_cb, &on_lame_duck);
        if (status == SNATS_OK) status = snats_options_set_error_cb(options, error ? &on_error : nullptr, this);
        return status;
    }

private:
    void run(std::function<void()> ConnShared::*member, const char *where) noexcept {
        try {
            if (this->*member) (this->*member)();
        } catch (...) {
            report(where, std::current_exception());
        }
    }
};

// A one-shot completion's callable, on the heap until the library calls it (exactly once when
// the call was accepted) or at once when the call was refused.
template <class Fn> struct Once {
    Fn fn;
    std::shared_ptr<ConnShared> shared;
    const char *where;
};

template <class Fn, class Start>
Outcome start_once(Fn &&fn, std::shared_ptr<ConnShared> shared, const char *where, Start start) {
    auto *once = new Once<std::decay_t<Fn>>{std::forward<Fn>(fn), std::move(shared), where};
    snats_status status = start(static_cast<void *>(once));
    if (status != SNATS_OK) delete once;
    return status;
}

// Runs a one-shot completion and frees it; what it throws goes to the connection's report.
template <class Fn, class... Args> void finish_once(void *closure, Args &&...args) noexcept {
    std::unique_ptr<Once<Fn>> once(static_cast<Once<Fn> *>(closure));
    try {
        std::move(once->fn)(std::forward<Args>(args)...);
    } catch (...) {
        if (once->shared) once->shared->report(once->where, std::current_exception());
    }
}

} // namespace detail

/**
 * Connection options (snats_options). Setters return *this for chaining and throw Error on a
 * bad value. The callbacks are any copyable callables (capturing lambdas included); each
 * connection made with these options keeps its own copies for as long as the library can call
 * them. Not for use by two threads at once.
 */
class Options {
public:
    Options() : shared_(std::make_shared<detail::ConnShared>()) {
        detail::check(snats_options_create(&options_));
    }
    Options(Options &&other) noexcept : options_(std::exchange(other.options_, nullptr)), shared_(std::move(other.shared_)) {}
    Options &operator=(Options &&other) noexcept {
        std::swap(options_, other.options_);
        std::swap(shared_, other.shared_);
        return *this;
    }
    Options(const Options &) = delete;
    Options &operator=(const Options &) = delete;
    ~Options() { snats_options_destroy(options_); }

    /** One URL or a comma-separated list ("nats://a:4222,nats://b:4222"). */
    Options &url(std::string_view urls) { return text(snats_options_set_url, urls); }
    Options &name(std::string_view name) { return text(snats_options_set_name, name); }
    Options &user_info(std::string_view user, std::string_view password) {
        detail::CString u(user), p(password);
        detail::check(u.valid() && p.valid() ? snats_options_set_user_info(options_, u.c_str(), p.c_str()) : detail::nul_inside);
        return *this;
    }
    Options &token(std::string_view token) { return text(snats_options_set_token, token); }
    Options &credentials_file(std::string_view path) { return text(snats_options_set_credentials_file, path); }
    Options &nkey_seed_file(std::string_view path) { return text(snats_options_set_nkey_seed_file, path); }
    Options &inbox_prefix(std::string_view prefix) { return text(snats_options_set_inbox_prefix, prefix); }
    Options &tls_ca_file(std::string_view path) { return text(snats_options_set_tls_ca_file, path); }
    Options &tls_client_cert(std::string_view cert_path, std::string_view key_path) {
        detail::CString c(cert_path), k(key_path);
        detail::check(c.valid() && k.valid() ? snats_options_set_tls_client_cert(options_, c.c_str(), k.c_str()) : detail::nul_inside);
        return *this;
    }
    Options &secure(bool on = true) { return flag(snats_options_set_secure, on); }
    Options &no_echo(bool on = true) { return flag(snats_options_set_no_echo, on); }
    Options &no_randomize(bool on = true) { return flag(snats_options_set_no_randomize, on); }
    Options &allow_reconnect(bool on) { return flag(snats_options_set_allow_reconnect, on); }
    Options &connect_timeout(milliseconds timeout) { return duration(snats_options_set_connect_timeout, timeout); }
    Options &ping_interval(milliseconds interval) { return duration(snats_options_set_ping_interval, interval); }
    Options &reconnect_wait(milliseconds wait) { return duration(snats_options_set_reconnect_wait, wait); }
    Options &max_reconnect(int attempts) {
        detail::check(snats_options_set_max_reconnect(options_, attempts));
        return *this;
    }
    Options &reconnect_buffer_size(int64_t bytes) {
        detail::check(snats_options_set_reconnect_buffer_size(options_, bytes));
        return *this;
    }
    Options &pending_limits(int max_msgs, int64_t max_bytes) {
        detail::check(snats_options_set_pending_limits(options_, max_msgs, max_bytes));
        return *this;
    }
    /** Keeps connecting in the background when the first attempt fails. */
    Options &retry_on_failed_connect(bool retry) {
        detail::check(snats_options_set_retry_on_failed_connect(options_, retry, nullptr, nullptr));
        return *this;
    }

    // Connection events: each callable runs as the C header's snats_conn_handler says. Each
    // connection made with these options gets its own copy of them.
    Options &on_closed(std::function<void()> fn) { return event(&detail::ConnShared::closed, std::move(fn)); }
    Options &on_disconnected(std::function<void()> fn) { return event(&detail::ConnShared::disconnected, std::move(fn)); }
    Options &on_reconnected(std::function<void()> fn) { return event(&detail::ConnShared::reconnected, std::move(fn)); }
    Options &on_discovered_servers(std::function<void()> fn) { return event(&detail::ConnShared::discovered_servers, std::move(fn)); }
    Options &on_lame_duck(std::function<void()> fn) { return event(&detail::ConnShared::lame_duck, std::move(fn)); }
    /**
     * Asynchronous errors: (status, text, subject of the subscription concerned or ""), one call
     * at a time. Also receives what a C++ callback of the connection threw, as SNATS_ERR with
     * "... threw: what()" (without a handler, that goes to stderr): exceptions never cross into
     * the library.
     */
    Options &on_error(std::function<void(snats_status, std::string_view, std::string_view)> fn) {
        valid().error = std::move(fn);
        return *this;
    }

    snats_options *get() const noexcept { return options_; }

private:
    friend class Connection;
    detail::ConnShared &valid() {
        if (!shared_) detail::check(detail::Outcome(SNATS_INVALID_ARG, "these Options were moved from"));
        return *shared_;
    }
    Options &event(std::function<void()> detail::ConnShared::*member, std::function<void()> fn) {
        valid().*member = std::move(fn);
        return *this;
    }
    Options &text(snats_status (*set)(snats_options *, const char *), std::string_view value) {
        detail::CString c(value);
        detail::check(c.valid() ? set(options_, c.c_str()) : detail::nul_inside);
        return *this;
    }
    Options &flag(snats_status (*set)(snats_options *, bool), bool on) {
        detail::check(set(options_, on));
        return *this;
    }
    Options &duration(snats_status (*set)(snats_options *, int64_t), milliseconds value) {
        detail::check(set(options_, value.count()));
        return *this;
    }
    snats_options *options_ = nullptr;
    std::shared_ptr<detail::ConnShared> shared_;
};

} // namespace snats

#endif
