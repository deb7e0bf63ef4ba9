// swiftnats C++ layer: statuses as exceptions and std::error_code, payload and string
// arguments, Jansson values. Included by <swiftnats.hpp>; not meant to be included alone.
#ifndef SWIFTNATS_ERROR_HPP
#define SWIFTNATS_ERROR_HPP

#include <chrono>
#include <cstdio>
#include <cstring>
#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include <swiftnats.h>

namespace snats {

using std::chrono::milliseconds;

/** The library's statuses as a std::error_category: value() is the ::snats_status. */
inline const std::error_category &category() noexcept {
    struct Category final : std::error_category {
        const char *name() const noexcept override { return "swiftnats"; }
        std::string message(int value) const override { return snats_status_text(static_cast<snats_status>(value)); }
    };
    static const Category instance;
    return instance;
}

/** The error_code of a status: empty (false) for SNATS_OK. */
inline std::error_code make_error_code(snats_status status) noexcept {
    return status == SNATS_OK ? std::error_code() : std::error_code(static_cast<int>(status), category());
}

/** True when @p ec holds @p status of this library. */
inline bool is(const std::error_code &ec, snats_status status) noexcept {
    return ec.category() == category() && ec.value() == static_cast<int>(status);
}


/** A failed call: what() is snats_last_error()'s message when the call failed. */
class Error : public std::runtime_error {
public:
    Error(snats_status status, const std::string &text)
        : std::runtime_error(text.empty() ? std::string(snats_status_text(status)) : text), status_(status) {}
    snats_status status() const noexcept { return status_; }
    std::error_code code() const noexcept { return make_error_code(status_); }

private:
    snats_status status_;
};

/** SNATS_JS_API_ERROR: the JetStream API's answer carried an error. */
class JsApiError : public Error {
public:
    JsApiError(const std::string &text, int code, int err_code)
        : Error(SNATS_JS_API_ERROR, text), code_(code), err_code_(err_code) {}
    int api_code() const noexcept { return code_; }          /**< e.g. 404 */
    int api_err_code() const noexcept { return err_code_; }  /**< e.g. 10059 (stream not found) */

private:
    int code_, err_code_;
};

class Payload;

namespace detail {

// A call's outcome: the library's status, or this layer's own refusal of an argument before
// the library saw it (a NUL inside a string), which snats_last_error() knows nothing about.
struct Outcome {
    Outcome(snats_status status) noexcept : status(status) {}  // NOLINT: implicit by design
    Outcome(snats_status status, const char *refusal) noexcept : status(status), refusal(refusal) {}
    snats_status status;
    const char *refusal = nullptr;
};

inline const Outcome nul_inside{SNATS_INVALID_ARG, "a string argument has a NUL byte inside"};

// What last_error() reports after a non-throwing form: the refusal, or nothing (the library's).
inline thread_local const char *last_refusal = nullptr;

[[noreturn]] inline void throw_status(Outcome outcome) {
    last_refusal = outcome.refusal;
    std::string text = outcome.refusal ? outcome.refusal : snats_last_error();
    if (outcome.status == SNATS_JS_API_ERROR) {
        int code = 0, err_code = 0;
        snats_js_last_api_error(&code, &err_code);
        throw JsApiError(text, code, err_code);
    }
    throw Error(outcome.status, text);
}

// For the statuses a callback wrapper has no one to give to: an answer refused because the
// handler already gave one.
inline void discard(snats_status) noexcept {}

inline void check(Outcome outcome) {
    if (outcome.status != SNATS_OK) throw_status(outcome);
}

/** The non-throwing forms: the status as an error_code. */
inline void report(Outcome outcome, std::error_code &ec) noexcept {
    last_refusal = outcome.refusal;
    ec = make_error_code(outcome.status);
}

// Nothing escapes a callback into the library: what a callback throws is handed to this
// function (the connection's error handler, or stderr), whatever it is.
inline std::string describe(std::exception_ptr error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception &e) {
        return e.what();
    } catch (...) {
        return "an exception that is not a std::exception";
    }
}

/** A string argument as the C API wants it: NUL-terminated, no NUL inside (a subject cut
 *  short at an embedded NUL would name another subject). Short strings stay on the stack. */
class CString {
public:
    explicit CString(std::string_view text) {
        valid_ = text.empty() || std::memchr(text.data(), '\0', text.size()) == nullptr;
        if (text.size() < sizeof small_) {
            if (!text.empty()) std::memcpy(small_, text.data(), text.size());
            small_[text.size()] = '\0';
            pointer_ = small_;
        } else {
            large_.assign(text);
            pointer_ = large_.c_str();
        }
    }
    CString(const CString &) = delete;
    CString &operator=(const CString &) = delete;
    const char *c_str() const noexcept { return pointer_; }
    /** NULL for an empty string: for the C arguments where NULL means "none". */
    const char *or_null() const noexcept { return *pointer_ ? pointer_ : nullptr; }
    bool valid() const noexcept { return valid_; }

private:
    char small_[128];
    std::string large_;
    const char *pointer_;
    bool valid_;
};

template <class E> constexpr bool one_byte_elements() {
    if constexpr (std::is_void_v<E> || std::is_function_v<E>) return false;
    else return sizeof(E) == 1;
}
template <class T, class = void> struct is_byte_range : std::false_type {};
template <class T>
struct is_byte_range<T, std::void_t<decltype(std::declval<const T &>().data()), decltype(std::declval<const T &>().size())>>
    : std::bool_constant<std::is_pointer_v<decltype(std::declval<const T &>().data())> &&
                         one_byte_elements<std::remove_pointer_t<decltype(std::declval<const T &>().data())>>() &&
                         !std::is_convertible_v<const T &, std::string_view> && !std::is_same_v<T, Payload>> {};

} // namespace detail

/** A payload argument: bytes the library copies before the call returns. From a string, a
 *  string_view, a literal, any contiguous container of 1-byte elements (std::vector<char>,
 *  std::vector<std::byte>, std::array<uint8_t, N>...) or a pointer and a length. */
class Payload {
public:
    Payload() noexcept = default;
    Payload(const void *data, size_t size) noexcept : data_(data), size_(size) {}
    Payload(std::string_view text) noexcept : data_(text.data()), size_(text.size()) {}
    Payload(const char *text) noexcept : Payload(std::string_view(text ? text : "")) {}
    Payload(const std::string &text) noexcept : data_(text.data()), size_(text.size()) {}
    template <class Range, std::enable_if_t<detail::is_byte_range<Range>::value, int> = 0>
    Payload(const Range &bytes) noexcept : data_(bytes.data()), size_(bytes.size()) {}
    const void *data() const noexcept { return data_; }
    size_t size() const noexcept { return size_; }

private:
    const void *data_ = nullptr;
    size_t size_ = 0;
};

/** A reference to a Jansson value (json_t): copying adds a reference, destruction drops one.
 *  An empty Json (no value) stands for NULL where the C API takes an optional json_t. */
class Json {
public:
    Json() noexcept = default;
    /** Takes over one reference the caller owns. */
    static Json adopt(json_t *value) noexcept { return Json(value); }
    /** Adds a reference to a value the caller only borrows. */
    static Json borrow(const json_t *value) noexcept { return Json(snats_json_incref(const_cast<json_t *>(value))); }
    /** Parses JSON text (ASCII or UTF-8); throws Error(SNATS_INVALID_JSON) when it is not. */
    static Json parse(std::string_view text) {
        detail::CString c(text);
        if (!c.valid()) throw Error(SNATS_INVALID_JSON, "JSON text with a NUL byte inside");
        json_t *value = nullptr;
        detail::check(snats_json_loads(&value, c.c_str()));
        return Json(value);
    }
    Json(const Json &other) noexcept : value_(other.value_ ? snats_json_incref(other.value_) : nullptr) {}
    Json(Json &&other) noexcept : value_(std::exchange(other.value_, nullptr)) {}
    Json &operator=(Json other) noexcept {
        std::swap(value_, other.value_);
        return *this;
    }
    ~Json() { snats_json_decref(value_); }

    json_t *get() const noexcept { return value_; }
    explicit operator bool() const noexcept { return value_ != nullptr; }
    /** Gives up the reference: the caller owns it. */
    json_t *release() noexcept { return std::exchange(value_, nullptr); }
    /** Compact JSON text ("null" for an empty Json). */
    std::string dump() const {
        if (!value_) return "null";
        char *text = nullptr;
        detail::check(snats_json_dumps(&text, value_));
        std::unique_ptr<char, void (*)(void *)> owned(text, snats_free);
        return std::string(owned.get());
    }

private:
    explicit Json(json_t *value) noexcept : value_(value) {}
    json_t *value_ = nullptr;
};

/** The calling thread's message for its last failed call: after a non-throwing form set an
 *  error_code, what went wrong (snats_last_error(), or this layer's own refusal). */
inline std::string last_error() {
    return detail::last_refusal ? detail::last_refusal : snats_last_error();
}

namespace detail {

/**
 * The state behind a handle's callbacks (a subscription's handler, a service's endpoints...),
 * found from the C closure, which is a number, never an address: a destroy function may return
 * while the library still runs (or is about to run) a callback of the handle (snats_sub_destroy
 * on a callback thread of its connection, snats_service_destroy after its wait). The handle
 * removes its entry when destroyed; a callback holds its own reference while it runs, and one
 * that comes after the removal finds nothing and does nothing (its handle is gone). Numbers are
 * never reused, so a late callback cannot reach another handle's state.
 */
class Registry {
public:
    template <class T> static void *add(std::shared_ptr<T> state) {
        uint64_t id = next().fetch_add(1, std::memory_order_relaxed);
        Shard &s = shard(id);
        std::lock_guard<std::mutex> guard(s.lock);
        s.items.emplace(id, std::move(state));
        return reinterpret_cast<void *>(static_cast<uintptr_t>(id));
    }
    template <class T> static std::shared_ptr<T> find(void *closure) noexcept {
        uint64_t id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(closure));
        Shard &s = shard(id);
        std::lock_guard<std::mutex> guard(s.lock);
        auto it = s.items.find(id);
        return it == s.items.end() ? nullptr : std::static_pointer_cast<T>(it->second);
    }
    static void remove(void *closure) noexcept {
        if (!closure) return;
        uint64_t id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(closure));
        Shard &s = shard(id);
        std::shared_ptr<void> gone;  // freed after the lock: its destructor may be long
        std::lock_guard<std::mutex> guard(s.lock);
        auto it = s.items.find(id);
        if (it != s.items.end()) {
            gone = std::move(it->second);
            s.items.erase(it);
        }
    }

private:
    struct Shard {
        std::mutex lock;
        std::unordered_map<uint64_t, std::shared_ptr<void>> items;
    };
    static Shard &shard(uint64_t id) noexcept {
        static Shard shards[16];
        return shards[id % 16];
    }
    static std::atomic<uint64_t> &next() noexcept {
        static std::atomic<uint64_t> counter{1};
        return counter;
    }
};

/** A registry entry owned by a handle: removed when the handle goes. Move-only. */
class Registered {
public:
    Registered() noexcept = default;
    template <class T> explicit Registered(std::shared_ptr<T> state) : closure_(Registry::add(std::move(state))) {}
    Registered(Registered &&other) noexcept : closure_(std::exchange(other.closure_, nullptr)) {}
    Registered &operator=(Registered &&other) noexcept {
        std::swap(closure_, other.closure_);
        return *this;
    }
    Registered(const Registered &) = delete;
    Registered &operator=(const Registered &) = delete;
    ~Registered() { Registry::remove(closure_); }
    void *closure() const noexcept { return closure_; }

private:
    void *closure_ = nullptr;
};

} // namespace detail

} // namespace snats

/** `ec == SNATS_TIMEOUT` and `std::error_code ec = SNATS_TIMEOUT;` work as for std::errc. */
namespace std {
template <> struct is_error_code_enum<snats_status> : true_type {};
} // namespace std
inline std::error_code make_error_code(snats_status status) noexcept { return snats::make_error_code(status); }

#endif
