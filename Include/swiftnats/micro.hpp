// swiftnats C++ layer: ADR-32 micro services. Included by <swiftnats.hpp>.
#ifndef SWIFTNATS_MICRO_HPP
#define SWIFTNATS_MICRO_HPP

#include <mutex>
#include <vector>

#include "connection.hpp"

namespace snats::micro {

/** A request to an endpoint (snats_micro_request). The one a handler receives is lent for the
 *  call; copying it keeps it (snats_micro_request_retain()) to answer later, from any thread. */
class Request {
public:
    static Request lend(snats_micro_request *req) noexcept { return Request(req, false); }
    Request(const Request &other) noexcept : req_(snats_micro_request_retain(other.req_)), owned_(req_ != nullptr) {}
    Request &operator=(Request other) noexcept {
        std::swap(req_, other.req_);
        std::swap(owned_, other.owned_);
        return *this;
    }
    ~Request() {
        if (owned_) snats_micro_request_release(req_);
    }

    /** The request message (subject, data, headers), a reference of its own. */
    Msg msg() const noexcept {
        const snats_msg *msg = req_ ? snats_micro_request_msg(req_) : nullptr;
        return Msg::adopt(msg ? snats_msg_retain(const_cast<snats_msg *>(msg)) : nullptr);
    }
    /** The payload, valid as long as this Request. */
    std::string_view data() const noexcept {
        const snats_msg *msg = raw();
        return msg ? std::string_view(static_cast<const char *>(snats_msg_data(msg)), snats_msg_data_len(msg)) : std::string_view();
    }
    std::string_view subject() const noexcept {
        const char *subject = raw() ? snats_msg_subject(raw()) : nullptr;
        return subject ? subject : "";
    }
    HeadersView headers() const noexcept { return HeadersView(raw() ? snats_msg_headers(raw()) : nullptr); }

    /** Answers (once). Throws Error (SNATS_ILLEGAL_STATE: already answered). */
    void respond(Payload data, const HeadersView &headers = HeadersView()) const {
        detail::check(snats_micro_request_respond(req_, headers.get(), data.data(), data.size()));
    }
    void respond_json(const Json &value) const { detail::check(snats_micro_request_respond_json(req_, value.get())); }
    /** Answers with the Nats-Service-Error(-Code) headers. */
    void respond_error(std::string_view code, std::string_view description, Payload data = {}) const {
        detail::CString c(code), d(description);
        detail::check(c.valid() && d.valid()
                          ? snats_micro_request_respond_error(req_, c.c_str(), d.c_str(), nullptr, data.data(), data.size())
                          : detail::nul_inside);
    }
    snats_micro_request *get() const noexcept { return req_; }

private:
    const snats_msg *raw() const noexcept { return req_ ? snats_micro_request_msg(req_) : nullptr; }
    Request(snats_micro_request *req, bool owned) noexcept : req_(req), owned_(owned) {}
    snats_micro_request *req_;
    bool owned_;
};

/** An endpoint handler: any callable taking `const Request &`. What it throws answers the
 *  request with error "500" and the exception's text (when it had not answered), and is
 *  reported as the connection's callback exceptions are. */
using Handler = std::function<void(const Request &)>;

/** An endpoint's settings (snats_endpoint_config). */
class EndpointConfig {
public:
    EndpointConfig() { detail::check(snats_endpoint_config_create(&cfg_)); }
    EndpointConfig(EndpointConfig &&other) noexcept : cfg_(std::exchange(other.cfg_, nullptr)) {}
    EndpointConfig &operator=(EndpointConfig &&other) noexcept {
        std::swap(cfg_, other.cfg_);
        return *this;
    }
    EndpointConfig(const EndpointConfig &) = delete;
    EndpointConfig &operator=(const EndpointConfig &) = delete;
    ~EndpointConfig() { snats_endpoint_config_destroy(cfg_); }

    EndpointConfig &subject(std::string_view subject) {
        detail::CString s(subject);
        detail::check(s.valid() ? snats_endpoint_config_set_subject(cfg_, s.c_str()) : detail::nul_inside);
        return *this;
    }
    EndpointConfig &metadata(const Json &metadata) {
        detail::check(snats_endpoint_config_set_metadata(cfg_, metadata.get()));
        return *this;
    }
    EndpointConfig &queue_group(std::string_view queue, bool disabled = false) {
        detail::CString q(queue);
        detail::check(q.valid() ? snats_endpoint_config_set_queue_group(cfg_, q.or_null(), disabled) : detail::nul_inside);
        return *this;
    }
    /** Up to @p handlers requests at once, on threads of the endpoint's own. */
    EndpointConfig &concurrency(int handlers) {
        detail::check(snats_endpoint_config_set_concurrency(cfg_, handlers));
        return *this;
    }
    EndpointConfig &pending_limits(int max_msgs, int64_t max_bytes) {
        detail::check(snats_endpoint_config_set_pending_limits(cfg_, max_msgs, max_bytes));
        return *this;
    }
    snats_endpoint_config *get() const noexcept { return cfg_; }

private:
    snats_endpoint_config *cfg_ = nullptr;
};

namespace detail {
// An endpoint's handler, found through the registry (a service's destroy may return while a
// handler still runs: snats_service_destroy waits 30 s at most).
struct Endpoint {
    Handler handler;
    std::shared_ptr<snats::detail::ConnShared> conn;

    static void handle(snats_micro_request *req, void *closure) noexcept {
        std::shared_ptr<Endpoint> endpoint = snats::detail::Registry::find<Endpoint>(closure);
        if (!endpoint) {
            // The service is gone: the caller still gets an answer.
            snats::detail::discard(snats_micro_request_respond_error(req, "503", "the service is gone", nullptr, nullptr, 0));
            return;
        }
        try {
            endpoint->handler(Request::lend(req));
        } catch (...) {
            try {
                std::string text = snats::detail::describe(std::current_exception());
                if (text.empty()) text = "the handler threw an exception with no message";
                // Answers the caller unless the handler already did (then this is refused).
                snats::detail::discard(snats_micro_request_respond_error(req, "500", text.c_str(), nullptr, nullptr, 0));
            } catch (...) {
                snats::detail::discard(snats_micro_request_respond_error(req, "500", "the handler threw", nullptr, nullptr, 0));
            }
            if (endpoint->conn) endpoint->conn->report("a micro endpoint handler", std::current_exception());
        }
    }
};

// A service's done and error callables, one copy per service.
struct ServiceEvents {
    std::function<void()> done;
    std::function<void(snats_status, std::string_view text, std::string_view endpoint)> error;
    std::shared_ptr<snats::detail::ConnShared> conn;

    static void on_done(snats_service *, void *closure) noexcept {
        std::shared_ptr<ServiceEvents> events = snats::detail::Registry::find<ServiceEvents>(closure);
        if (!events || !events->done) return;
        try {
            events->done();
        } catch (...) {
            if (events->conn) events->conn->report("a service's done callback", std::current_exception());
        }
    }
    static void on_error(snats_service *, snats_endpoint *ep, snats_status status, const char *text, void *closure) noexcept {
        std::shared_ptr<ServiceEvents> events = snats::detail::Registry::find<ServiceEvents>(closure);
        if (!events || !events->error) return;
        try {
            const char *name = ep ? snats_endpoint_name(ep) : nullptr;
            events->error(status, text ? text : "", name ? name : "");
        } catch (...) {
            if (events->conn) events->conn->report("a service's error callback", std::current_exception());
        }
    }
};

// What a service and its groups share: the registry entries of its callables, removed when the
// last of them is gone.
struct ServiceShared {
    std::mutex lock;
    std::vector<snats::detail::Registered> endpoints;
    snats::detail::Registered events;
    std::shared_ptr<snats::detail::ConnShared> conn;

    void *keep(Handler handler) {
        if (!handler) snats::detail::check(snats::detail::Outcome(SNATS_INVALID_ARG, "no endpoint handler"));
        snats::detail::Registered entry(std::make_shared<Endpoint>(Endpoint{std::move(handler), conn}));
        void *closure = entry.closure();
        std::lock_guard<std::mutex> guard(lock);
        endpoints.push_back(std::move(entry));
        return closure;
    }
};

inline ServiceShared &valid(const std::shared_ptr<ServiceShared> &shared) {
    if (!shared) snats::detail::check(snats::detail::Outcome(SNATS_INVALID_ARG, "this service (or group) was moved from"));
    return *shared;
}

// A service's and a group's add_endpoint and add_group: the same but for the C function.
template <class Parent>
void add_endpoint(snats_status (*add)(snats_endpoint **, Parent *, const char *, const snats_endpoint_config *,
                                      snats_micro_handler, void *),
                  Parent *parent, const std::shared_ptr<ServiceShared> &shared, std::string_view name, Handler handler,
                  const snats_endpoint_config *config) {
    snats::detail::CString n(name);
    if (!n.valid()) snats::detail::check(snats::detail::nul_inside);
    void *closure = valid(shared).keep(std::move(handler));
    snats::detail::check(add(nullptr, parent, n.c_str(), config, &Endpoint::handle, closure));
}

template <class Parent>
snats_group *add_group(snats_status (*add)(snats_group **, Parent *, const char *, const char *, bool), Parent *parent,
                       std::string_view name, std::string_view queue, bool disabled) {
    snats::detail::CString n(name), q(queue);
    snats_group *group = nullptr;
    snats::detail::check(n.valid() && q.valid() ? add(&group, parent, n.c_str(), q.or_null(), disabled) : snats::detail::nul_inside);
    return group;
}

// The discovery calls (PING, INFO, STATS): the same but for the C function.
inline Json discover(snats_status (*ask)(json_t **, snats_conn *, const char *, const char *, int64_t, int), snats_conn *conn,
                     milliseconds timeout, std::string_view name, std::string_view id, int max_replies) {
    snats::detail::CString n(name), i(id);
    json_t *replies = nullptr;
    snats::detail::check(n.valid() && i.valid() ? ask(&replies, conn, n.or_null(), i.or_null(), timeout.count(), max_replies)
                                                : snats::detail::nul_inside);
    return Json::adopt(replies);
}
} // namespace detail

/** A service's settings (snats_service_config). Not for use by two threads at once. */
class Config {
public:
    Config(std::string_view name, std::string_view version) {
        snats::detail::CString n(name), v(version);
        snats::detail::check(n.valid() && v.valid() ? snats_service_config_create(&cfg_, n.c_str(), v.c_str())
                                                     : snats::detail::nul_inside);
    }
    Config(Config &&other) noexcept : cfg_(std::exchange(other.cfg_, nullptr)), events_(std::move(other.events_)) {}
    Config &operator=(Config &&other) noexcept {
        std::swap(cfg_, other.cfg_);
        std::swap(events_, other.events_);
        return *this;
    }
    Config(const Config &) = delete;
    Config &operator=(const Config &) = delete;
    ~Config() { snats_service_config_destroy(cfg_); }

    Config &description(std::string_view text) {
        snats::detail::CString d(text);
        snats::detail::check(d.valid() ? snats_service_config_set_description(cfg_, d.c_str()) : snats::detail::nul_inside);
        return *this;
    }
    Config &metadata(const Json &metadata) {
        snats::detail::check(snats_service_config_set_metadata(cfg_, metadata.get()));
        return *this;
    }
    Config &queue_group(std::string_view queue, bool disabled = false) {
        snats::detail::CString q(queue);
        snats::detail::check(q.valid() ? snats_service_config_set_queue_group(cfg_, q.or_null(), disabled) : snats::detail::nul_inside);
        return *this;
    }
    /** Runs once the service has stopped and its handlers have returned (not when the Service
     *  object was destroyed first). Each service made with this Config has its own copy. */
    Config &on_done(std::function<void()> fn) {
        events_.done = std::move(fn);
        return *this;
    }
    /** (status, text, endpoint name or ""): a failure the service met (an answer it could not send...). */
    Config &on_error(std::function<void(snats_status, std::string_view, std::string_view)> fn) {
        events_.error = std::move(fn);
        return *this;
    }
    snats_service_config *get() const noexcept { return cfg_; }

private:
    friend class Service;
    snats_service_config *cfg_ = nullptr;
    detail::ServiceEvents events_;
};

/** A group of endpoints under a subject prefix (snats_group). Must not outlive its Service. */
class Group {
public:
    Group(Group &&other) noexcept : group_(std::exchange(other.group_, nullptr)), shared_(std::move(other.shared_)) {}
    Group &operator=(Group &&other) noexcept {
        std::swap(group_, other.group_);
        std::swap(shared_, other.shared_);
        return *this;
    }
    Group(const Group &) = delete;
    Group &operator=(const Group &) = delete;
    ~Group() { snats_group_destroy(group_); }

    /** Adds endpoint @p name (subject: the group's prefix + name, unless @p config says). */
    void add_endpoint(std::string_view name, Handler handler, const EndpointConfig *config = nullptr) {
        detail::add_endpoint(snats_group_add_endpoint, group_, shared_, name, std::move(handler), config ? config->get() : nullptr);
    }
    Group add_group(std::string_view name, std::string_view queue = {}, bool disabled = false) {
        return Group(detail::add_group(snats_group_add_group, group_, name, queue, disabled), shared_);
    }
    snats_group *get() const noexcept { return group_; }

private:
    friend class Service;
    Group(snats_group *group, std::shared_ptr<detail::ServiceShared> shared) noexcept : group_(group), shared_(std::move(shared)) {}
    snats_group *group_;
    std::shared_ptr<detail::ServiceShared> shared_;
};

/** A running service (snats_service): discovery ($SRV PING/INFO/STATS) and its endpoints. */
class Service {
public:
    /** Starts the service on @p conn (which must outlive it). */
    static Service create(Connection &conn, const Config &config) {
        if (!config.cfg_) snats::detail::check(snats::detail::Outcome(SNATS_INVALID_ARG, "this Config was moved from"));
        auto shared = std::make_shared<detail::ServiceShared>();
        shared->conn = conn.shared();
        auto events = std::make_shared<detail::ServiceEvents>(config.events_);
        events->conn = conn.shared();
        shared->events = snats::detail::Registered(events);
        void *closure = shared->events.closure();
        // The C configuration is copied by the create: the closures point at this service's copy.
        snats::detail::check(snats_service_config_set_done_cb(config.cfg_, events->done ? &detail::ServiceEvents::on_done : nullptr, closure));
        snats::detail::check(snats_service_config_set_error_cb(config.cfg_, events->error ? &detail::ServiceEvents::on_error : nullptr, closure));
        snats_service *svc = nullptr;
        snats::detail::check(snats_service_create(&svc, conn.get(), config.cfg_));
        return Service(svc, std::move(shared));
    }
    Service(Service &&other) noexcept : svc_(std::exchange(other.svc_, nullptr)), shared_(std::move(other.shared_)) {}
    Service &operator=(Service &&other) noexcept {
        Service gone(std::move(*this));
        svc_ = std::exchange(other.svc_, nullptr);
        shared_ = std::move(other.shared_);
        return *this;
    }
    Service(const Service &) = delete;
    Service &operator=(const Service &) = delete;
    /** Stops the service and waits for running handlers (30 s at most: a handler still running
     *  then keeps its callable alive until it returns). Not from one of its own handlers. */
    ~Service() { snats_service_destroy(svc_); }

    void add_endpoint(std::string_view name, Handler handler, const EndpointConfig *config = nullptr) {
        detail::add_endpoint(snats_service_add_endpoint, svc_, shared_, name, std::move(handler), config ? config->get() : nullptr);
    }
    Group add_group(std::string_view name, std::string_view queue = {}, bool disabled = false) {
        return Group(detail::add_group(snats_service_add_group, svc_, name, queue, disabled), shared_);
    }
    void stop() { snats::detail::check(snats_service_stop(svc_)); }
    bool stopped() const noexcept { return !svc_ || snats_service_is_stopped(svc_); }
    void reset() { snats::detail::check(snats_service_reset(svc_)); }
    std::string_view id() const noexcept {
        const char *id = svc_ ? snats_service_id(svc_) : nullptr;
        return id ? id : "";
    }
    Json info() const {
        json_t *info = nullptr;
        snats::detail::check(snats_service_get_info(&info, svc_));
        return Json::adopt(info);
    }
    Json stats() const {
        json_t *stats = nullptr;
        snats::detail::check(snats_service_get_stats(&stats, svc_));
        return Json::adopt(stats);
    }
    snats_service *get() const noexcept { return svc_; }

private:
    Service(snats_service *svc, std::shared_ptr<detail::ServiceShared> shared) noexcept : svc_(svc), shared_(std::move(shared)) {}
    snats_service *svc_;
    std::shared_ptr<detail::ServiceShared> shared_;  // after svc_: outlives snats_service_destroy
};

/** Discovery: every service's (or @p name's, or @p id's) answer to PING/INFO/STATS within
 *  @p timeout, at most @p max_replies (0: no limit), as a JSON array. */
inline Json ping(Connection &conn, milliseconds timeout, std::string_view name = {}, std::string_view id = {},
                 int max_replies = 0) {
    return detail::discover(snats_micro_ping, conn.get(), timeout, name, id, max_replies);
}
inline Json info(Connection &conn, milliseconds timeout, std::string_view name = {}, std::string_view id = {},
                 int max_replies = 0) {
    return detail::discover(snats_micro_info, conn.get(), timeout, name, id, max_replies);
}
inline Json stats(Connection &conn, milliseconds timeout, std::string_view name = {}, std::string_view id = {},
                  int max_replies = 0) {
    return detail::discover(snats_micro_stats, conn.get(), timeout, name, id, max_replies);
}

} // namespace snats::micro

#endif
