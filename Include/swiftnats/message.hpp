// swiftnats C++ layer: headers and messages. Included by <swiftnats.hpp>.
#ifndef SWIFTNATS_MESSAGE_HPP
#define SWIFTNATS_MESSAGE_HPP

#include <initializer_list>
#include <optional>
#include <vector>

#include "error.hpp"

namespace snats {

/** Read access to a header block (a message's, or a Headers' own): valid as long as its owner. */
class HeadersView {
public:
    HeadersView() noexcept = default;
    explicit HeadersView(const snats_headers *headers) noexcept : headers_(headers) {}

    /** The first value of @p key (case-sensitive, as nats.go), or nullopt. */
    std::optional<std::string_view> get(std::string_view key) const {
        detail::CString k(key);
        const char *value = nullptr;
        if (!headers_ || !k.valid() || snats_headers_get(&value, headers_, k.c_str()) != SNATS_OK) return std::nullopt;
        return std::string_view(value);
    }
    /** Every value of @p key, in order. */
    std::vector<std::string_view> values(std::string_view key) const {
        std::vector<std::string_view> out;
        detail::CString k(key);
        if (!headers_ || !k.valid()) return out;
        size_t count = snats_headers_value_count(headers_, k.c_str());
        for (size_t i = 0; i < count; i++) {
            const char *value = nullptr;
            if (snats_headers_value_at(&value, headers_, k.c_str(), i) == SNATS_OK) out.emplace_back(value);
        }
        return out;
    }
    /** The keys, in the order they were first set. */
    std::vector<std::string_view> keys() const {
        std::vector<std::string_view> out;
        size_t count = headers_ ? snats_headers_key_count(headers_) : 0;
        for (size_t i = 0; i < count; i++) {
            const char *key = nullptr;
            if (snats_headers_key_at(&key, headers_, i) == SNATS_OK) out.emplace_back(key);
        }
        return out;
    }
    bool empty() const noexcept { return !headers_ || snats_headers_key_count(headers_) == 0; }
    /** The status line's code ("NATS/1.0 503"), or 0. */
    int status() const noexcept { return headers_ ? snats_headers_status(headers_) : 0; }
    /** The status line's description, or "". */
    std::string_view description() const noexcept {
        const char *text = headers_ ? snats_headers_description(headers_) : nullptr;
        return text ? text : "";
    }
    const snats_headers *get() const noexcept { return headers_; }

protected:
    const snats_headers *headers_ = nullptr;
};

/** A header block to publish with: owned, move-only. */
class Headers : public HeadersView {
public:
    Headers() {
        snats_headers *headers = nullptr;
        detail::check(snats_headers_create(&headers));
        headers_ = headers;
    }
    Headers(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs) : Headers() {
        for (const auto &pair : pairs) add(pair.first, pair.second);
    }
    Headers(Headers &&other) noexcept : HeadersView(std::exchange(other.headers_, nullptr)) {}
    Headers &operator=(Headers &&other) noexcept {
        std::swap(headers_, other.headers_);
        return *this;
    }
    Headers(const Headers &) = delete;
    Headers &operator=(const Headers &) = delete;
    ~Headers() { snats_headers_destroy(mutable_headers()); }

    /** Replaces every value of @p key with @p value. Throws Error (SNATS_INVALID_ARG: a key
     *  or value the header block cannot carry, e.g. with CR or LF). */
    Headers &set(std::string_view key, std::string_view value) {
        detail::CString k(key), v(value);
        detail::check(k.valid() && v.valid() ? snats_headers_set(mutable_headers(), k.c_str(), v.c_str()) : detail::nul_inside);
        return *this;
    }
    /** Adds a value to @p key. */
    Headers &add(std::string_view key, std::string_view value) {
        detail::CString k(key), v(value);
        detail::check(k.valid() && v.valid() ? snats_headers_add(mutable_headers(), k.c_str(), v.c_str()) : detail::nul_inside);
        return *this;
    }
    /** Removes @p key (no error when it is not there). */
    Headers &erase(std::string_view key) {
        detail::CString k(key);
        if (!k.valid()) detail::check(detail::nul_inside);
        snats_status status = snats_headers_delete(mutable_headers(), k.c_str());
        if (status != SNATS_NOT_FOUND) detail::check(status);
        return *this;
    }

private:
    snats_headers *mutable_headers() const noexcept { return const_cast<snats_headers *>(headers_); }
};

/**
 * A message: a reference to the library's snats_msg. Copying adds a reference
 * (snats_msg_retain()), so a copy made inside a callback stays valid after it returns; the
 * Msg a callback receives is only lent for the call. An empty Msg (no message) is false.
 */
class Msg {
public:
    Msg() noexcept = default;
    /** Takes over a reference the caller owns (a message from the C API). */
    static Msg adopt(snats_msg *msg) noexcept { return Msg(msg, true); }
    /** Lends a message for the duration of a callback: no reference is taken. */
    static Msg lend(snats_msg *msg) noexcept { return Msg(msg, false); }

    Msg(const Msg &other) noexcept : msg_(other.msg_ ? snats_msg_retain(other.msg_) : nullptr), owned_(msg_ != nullptr) {}
    // A lent message is retained by the move too: the Msg moved to may outlive the callback.
    Msg(Msg &&other) noexcept : msg_(other.msg_), owned_(other.owned_) {
        if (msg_ && !owned_) {
            msg_ = snats_msg_retain(msg_);
            owned_ = true;
        }
        other.msg_ = nullptr;
        other.owned_ = false;
    }
    Msg &operator=(Msg other) noexcept {
        std::swap(msg_, other.msg_);
        std::swap(owned_, other.owned_);
        return *this;
    }
    ~Msg() {
        if (owned_) (void)snats_msg_release(msg_);
    }

    explicit operator bool() const noexcept { return msg_ != nullptr; }
    std::string_view subject() const noexcept { return text(msg_ ? snats_msg_subject(msg_) : nullptr); }
    /** The reply subject, or "" when there is none. */
    std::string_view reply() const noexcept { return text(msg_ ? snats_msg_reply(msg_) : nullptr); }
    /** The payload's bytes, valid as long as this Msg. */
    std::string_view data() const noexcept {
        if (!msg_) return {};
        return std::string_view(static_cast<const char *>(snats_msg_data(msg_)), snats_msg_data_len(msg_));
    }
    HeadersView headers() const noexcept { return HeadersView(msg_ ? snats_msg_headers(msg_) : nullptr); }
    /** The status code of a status message (503 no responders, 408, 409...), or 0. */
    int status_code() const noexcept { return msg_ ? snats_msg_status_code(msg_) : 0; }

    /** Publishes @p data to the reply subject. Throws Error (SNATS_INVALID_ARG: no reply subject). */
    void respond(Payload data = {}) const { detail::check(snats_msg_respond(msg_, data.data(), data.size())); }
    void respond(Payload data, std::error_code &ec) const noexcept {
        detail::report(snats_msg_respond(msg_, data.data(), data.size()), ec);
    }

    // JetStream acknowledgements of a message a consumer delivered (snats_js_msg_*).
    void ack() const { detail::check(snats_js_msg_ack(msg_)); }
    void ack(std::error_code &ec) const noexcept { detail::report(snats_js_msg_ack(msg_), ec); }
    /** Acks and waits for the server to confirm it. Blocks up to @p timeout. */
    void ack_sync(milliseconds timeout) const { detail::check(snats_js_msg_ack_sync(msg_, timeout.count())); }
    /** Asks for redelivery, after @p delay (0: at once). */
    void nak(milliseconds delay = milliseconds(0)) const { detail::check(snats_js_msg_nak(msg_, delay.count())); }
    /** Stops redelivery for good; @p reason may be empty. */
    void term(std::string_view reason = {}) const {
        detail::CString r(reason);
        detail::check(r.valid() ? snats_js_msg_term(msg_, r.or_null()) : detail::nul_inside);
    }
    /** Resets the redelivery timer: more time to work on it. */
    void in_progress() const { detail::check(snats_js_msg_in_progress(msg_)); }
    /** The JetStream metadata its reply subject carries (stream, sequences, delivered...). */
    Json metadata() const {
        json_t *meta = nullptr;
        detail::check(snats_js_msg_metadata(&meta, msg_));
        return Json::adopt(meta);
    }

    snats_msg *get() const noexcept { return msg_; }

private:
    Msg(snats_msg *msg, bool owned) noexcept : msg_(msg), owned_(owned && msg) {}
    static std::string_view text(const char *value) noexcept { return value ? value : ""; }
    snats_msg *msg_ = nullptr;
    bool owned_ = false;
};

} // namespace snats

#endif
