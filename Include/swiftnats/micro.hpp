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

    /** The request message (subject, data, headers), valid as long as this Request. */
    Msg msg() const noexcept { return Msg::lend(const_cast<snats_msg *>(snats_micro_request_msg(req_))); }
    std::string_view data() const noexcept { return msg().data(); }
    std::string_view subject() const noexcept { return msg().subject(); }
    HeadersView headers() const noexcept { return msg().headers(); }

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
// The handlers of a service and its groups, kept until the service and every group are gone.
struct ServiceShared {
    struct Endpoint {
        Handler handler;
        std::shared_ptr<snats::detail::ConnShared> conn;
    };
    std::mutex lock;
    std::vector<std::unique_ptr<Endpoint>> endpoints;
    std::shared_ptr<snats::detail::ConnShared> conn;
    std::function<void()> done;
    std::function<void(snats_status, std::string_view text, std::string_view endpoint)> error;

    static void handle(snats_micro_request *req, void *closure) {
        auto *endpoint = static_cast<Endpoint *>(closure);
        try {
            endpoint->handler(Request::lend(req));
        } catch (...) {
            std::string text = snats::detail::describe(std::current_exception());
            // Answers the caller unless the handler already did (then this call is refused).
            snats::detail::discard(snats_micro_request_respond_error(req, "500", text.c_str(), nullptr, nullptr, 0));
            if (endpoint->conn) endpoint->conn->report("a micro endpoint handler", std::current_exception());
        }
    }
    static void on_done(snats_service *, void *closure) {
        auto *shared = static_cast<ServiceShared *>(closure);
        try {
            if (shared->done) shared->done();
        } catch (...) {
            if (shared->conn) shared->conn->report("a service's done callback", std::current_exception());
        }
    }
    static void on_error(snats_service *, snats_endpoint *ep, snats_status status, const char *text, void *closure) {
        auto *shared = static_cast<ServiceShared *>(closure);
        try {
            const char *name = ep ? snats_endpoint_name(ep) : nullptr;
            if (shared->error) shared->error(status, text ? text : "", name ? name : "");
        } catch (...) {
            if (shared->conn) shared->conn->report("a service's error callback", std::current_exception());
        }
    }
    Endpoint *keep(Handler handler) {
        std::lock_guard<std::mutex> guard(lock);
        endpoints.push_back(std::make_unique<Endpoint>(Endpoint{std::move(handler), conn}));
        return endpoints.back().get();
    }
};
} // namespace detail

/** A service's settings (snats_service_config). */
class Config {
public:
    Config(std::string_view name, std::string_view version) : shared_(std::make_shared<detail::ServiceShared>()) {
        snats::detail::CString n(name), v(version);
        snats::detail::check(n.valid() && v.valid() ? snats_service_config_create(&cfg_, n.c_str(), v.c_str())
                                                     : snats::detail::nul_inside);
    }
    Config(Config &&other) noexcept : cfg_(std::exchange(other.cfg_, nullptr)), shared_(std::move(other.shared_)) {}
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
    /** Runs once the service has stopped and its handlers have returned. */
    Config &on_done(std::function<void()> fn) {
        shared_->done = std::move(fn);
        snats::detail::check(snats_service_config_set_done_cb(cfg_, &detail::ServiceShared::on_done, shared_.get()));
        return *this;
    }
    /** (status, text, endpoint name or ""): a failure the service met (an answer it could not send...). */
    Config &on_error(std::function<void(snats_status, std::string_view, std::string_view)> fn) {
        shared_->error = std::move(fn);
        snats::detail::check(snats_service_config_set_error_cb(cfg_, &detail::ServiceShared::on_error, shared_.get()));
        return *this;
    }
    snats_service_config *get() const noexcept { return cfg_; }

private:
    friend class Service;
    snats_service_config *cfg_ = nullptr;
    std::shared_ptr<detail::ServiceShared> shared_;
};

/** A group of endpoints under a subject prefix (snats_group). Must not outlive its Service. */
class Group {
public:
    Group(Group &&other) noexcept : group_(std::exchange(other.group_, nullptr)), shared_(std::move(other.shared_)) {}
    Group(const Group &) = delete;
    Group &operator=(const Group &) = delete;
    ~Group() { snats_group_destroy(group_); }

    /** Adds endpoint @p name (subject: the group's prefix + name, unless @p config says). */
    void add_endpoint(std::string_view name, Handler handler, const EndpointConfig *config = nullptr) {
        snats::detail::CString n(name);
        if (!n.valid()) snats::detail::check(snats::detail::nul_inside);
        auto *endpoint = shared_->keep(std::move(handler));
        snats::detail::check(snats_group_add_endpoint(nullptr, group_, n.c_str(), config ? config->get() : nullptr,
                                                      &detail::ServiceShared::handle, endpoint));
    }
    Group add_group(std::string_view name, std::string_view queue = {}, bool disabled = false) {
        snats::detail::CString n(name), q(queue);
        snats_group *group = nullptr;
        snats::detail::check(n.valid() && q.valid() ? snats_group_add_group(&group, group_, n.c_str(), q.or_null(), disabled)
                                                     : snats::detail::nul_inside);
        return Group(group, shared_);
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
    static Service create(Connection &conn, Config &config) {
        config.shared_->conn = conn.shared();
        snats_service *svc = nullptr;
        snats::detail::check(snats_service_create(&svc, conn.get(), config.cfg_));
        return Service(svc, config.shared_);
    }
    Service(Service &&other) noexcept : svc_(std::exchange(other.svc_, nullptr)), shared_(std::move(other.shared_)) {}
    Service(const Service &) = delete;
    Service &operator=(const Service &) = delete;
    /** Stops the service and waits for running handlers. */
    ~Service() { snats_service_destroy(svc_); }

    void add_endpoint(std::string_view name, Handler handler, const EndpointConfig *config = nullptr) {
        snats::detail::CString n(name);
        if (!n.valid()) snats::detail::check(snats::detail::nul_inside);
        auto *endpoint = shared_->keep(std::move(handler));
        snats::detail::check(snats_service_add_endpoint(nullptr, svc_, n.c_str(), config ? config->get() : nullptr,
                                                        &detail::ServiceShared::handle, endpoint));
    }
    Group add_group(std::string_view name, std::string_view queue = {}, bool disabled = false) {
        snats::detail::CString n(name), q(queue);
        snats_group *group = nullptr;
        snats::detail::check(n.valid() && q.valid() ? snats_service_add_group(&group, svc_, n.c_str(), q.or_null(), disabled)
                                                     : snats::detail::nul_inside);
        return Group(group, shared_);
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
    snats::detail::CString n(name), i(id);
    json_t *replies = nullptr;
    snats::detail::check(n.valid() && i.valid()
                             ? snats_micro_ping(&replies, conn.get(), n.or_null(), i.or_null(), timeout.count(), max_replies)
                             : snats::detail::nul_inside);
    return Json::adopt(replies);
}
inline Json info(Connection &conn, milliseconds timeout, std::string_view name = {}, std::string_view id = {},
                 int max_replies = 0) {
    snats::detail::CString n(name), i(id);
    json_t *replies = nullptr;
    snats::detail::check(n.valid() && i.valid()
                             ? snats_micro_info(&replies, conn.get(), n.or_null(), i.or_null(), timeout.count(), max_replies)
                             : snats::detail::nul_inside);
    return Json::adopt(replies);
}
inline Json stats(Connection &conn, milliseconds timeout, std::string_view name = {}, std::string_view id = {},
                  int max_replies = 0) {
    snats::detail::CString n(name), i(id);
    json_t *replies = nullptr;
    snats::detail::check(n.valid() && i.valid()
                             ? snats_micro_stats(&replies, conn.get(), n.or_null(), i.or_null(), timeout.count(), max_replies)
                             : snats::detail::nul_inside);
    return Json::adopt(replies);
}

} // namespace snats::micro

#endif
