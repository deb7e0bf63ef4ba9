// swiftnats C++ layer: Key-Value buckets on JetStream (docs/JETSTREAM.md).
// Included by <swiftnats.hpp>.
#ifndef SWIFTNATS_KV_HPP
#define SWIFTNATS_KV_HPP

#include <optional>

#include "jetstream.hpp"

namespace snats::js {

/** An entry of a bucket: owned (snats_kv_entry), move-only. */
class KvEntry {
public:
    explicit KvEntry(snats_kv_entry *entry) noexcept : entry_(entry) {}
    KvEntry(KvEntry &&other) noexcept : entry_(std::exchange(other.entry_, nullptr)) {}
    KvEntry &operator=(KvEntry &&other) noexcept {
        std::swap(entry_, other.entry_);
        return *this;
    }
    KvEntry(const KvEntry &) = delete;
    KvEntry &operator=(const KvEntry &) = delete;
    ~KvEntry() { snats_kv_entry_destroy(entry_); }

    std::string_view bucket() const noexcept { return text(snats_kv_entry_bucket(entry_)); }
    std::string_view key() const noexcept { return text(snats_kv_entry_key(entry_)); }
    std::string_view value() const noexcept {
        return std::string_view(static_cast<const char *>(snats_kv_entry_value(entry_)), snats_kv_entry_value_len(entry_));
    }
    uint64_t revision() const noexcept { return snats_kv_entry_revision(entry_); }
    /** Entries newer than this one (in a watch or history), else 0. */
    uint64_t delta() const noexcept { return snats_kv_entry_delta(entry_); }
    /** Nanoseconds since the epoch. */
    int64_t created() const noexcept { return snats_kv_entry_created(entry_); }
    snats_kv_operation operation() const noexcept { return static_cast<snats_kv_operation>(snats_kv_entry_operation(entry_)); }
    const snats_kv_entry *get() const noexcept { return entry_; }
    /** Gives the entry up: the caller frees it (snats_kv_entry_destroy()). */
    snats_kv_entry *release() noexcept { return std::exchange(entry_, nullptr); }

private:
    static std::string_view text(const char *value) noexcept { return value ? value : ""; }
    snats_kv_entry *entry_;
};

/** A watch of a bucket's keys (snats_kv_watcher); destroying it stops it and waits for a
 *  callback running on another thread. */
class KvWatcher {
public:
    KvWatcher(KvWatcher &&other) noexcept : watcher_(std::exchange(other.watcher_, nullptr)), state_(std::move(other.state_)) {}
    KvWatcher &operator=(KvWatcher &&other) noexcept {
        KvWatcher gone(std::move(*this));
        watcher_ = std::exchange(other.watcher_, nullptr);
        state_ = std::move(other.state_);
        return *this;
    }
    KvWatcher(const KvWatcher &) = delete;
    KvWatcher &operator=(const KvWatcher &) = delete;
    ~KvWatcher() { snats_kv_watcher_destroy(watcher_); }
    /** A watch without a callback: the next entry, or nullopt for the marker that ends the
     *  initial values. Blocks up to @p timeout; throws Error(SNATS_TIMEOUT) when none came. */
    std::optional<KvEntry> next(milliseconds timeout) {
        snats_kv_entry *entry = nullptr;
        detail::check(snats_kv_watcher_next(&entry, watcher_, timeout.count()));
        if (!entry) return std::nullopt;
        return KvEntry(entry);
    }
    void stop() { detail::check(snats_kv_watcher_stop(watcher_)); }
    snats_kv_watcher *get() const noexcept { return watcher_; }

    struct State {
        std::function<void(const KvEntry *)> fn;
        std::shared_ptr<detail::ConnShared> conn;
    };
    KvWatcher(snats_kv_watcher *watcher, detail::Registered state) noexcept : watcher_(watcher), state_(std::move(state)) {}
    static void deliver(snats_kv_watcher *, const snats_kv_entry *entry, void *closure) noexcept {
        std::shared_ptr<State> state = detail::Registry::find<State>(closure);
        if (!state) return;  // the watcher is gone
        // Lent for the call: a KvEntry that does not free it.
        KvEntry lent(const_cast<snats_kv_entry *>(entry));
        try {
            state->fn(entry ? &lent : nullptr);
        } catch (...) {
            if (state->conn) state->conn->report("a Key-Value watch callback", std::current_exception());
        }
        (void)lent.release();
    }

private:
    snats_kv_watcher *watcher_;
    detail::Registered state_;  // after watcher_: removed once the watch is destroyed
};

/** A Key-Value bucket (snats_kv): must outlive its watchers, and its JetStream must outlive it. */
class KeyValue {
public:
    /** Creates the bucket (@p config: {"history", "ttl", "max_bytes", ...}) or binds it. */
    static KeyValue create(JetStream &js, std::string_view bucket, const Json &config = Json()) {
        detail::CString b(bucket);
        snats_kv *kv = nullptr;
        detail::check(b.valid() ? snats_kv_bucket_create(&kv, js.get(), b.c_str(), config.get()) : detail::nul_inside);
        return KeyValue(kv, js.shared());
    }
    /** Binds an existing bucket; throws Error(SNATS_NOT_FOUND) when there is none. */
    static KeyValue bind(JetStream &js, std::string_view bucket) {
        detail::CString b(bucket);
        snats_kv *kv = nullptr;
        detail::check(b.valid() ? snats_kv_bucket_bind(&kv, js.get(), b.c_str()) : detail::nul_inside);
        return KeyValue(kv, js.shared());
    }
    static void remove_bucket(JetStream &js, std::string_view bucket) {
        detail::CString b(bucket);
        detail::check(b.valid() ? snats_kv_bucket_delete(js.get(), b.c_str()) : detail::nul_inside);
    }
    KeyValue(KeyValue &&other) noexcept : kv_(std::exchange(other.kv_, nullptr)), conn_(std::move(other.conn_)) {}
    KeyValue &operator=(KeyValue &&other) noexcept {
        std::swap(kv_, other.kv_);
        std::swap(conn_, other.conn_);
        return *this;
    }
    KeyValue(const KeyValue &) = delete;
    KeyValue &operator=(const KeyValue &) = delete;
    ~KeyValue() { snats_kv_destroy(kv_); }

    /** Stores @p value; returns its revision. */
    uint64_t put(std::string_view key, Payload value) { return revision_of(snats_kv_put, key, value); }
    /** Stores only when @p key has no value; throws JsApiError (10071, wrong last sequence) otherwise. */
    uint64_t create(std::string_view key, Payload value) { return revision_of(snats_kv_create, key, value); }
    /** Stores only when @p key's revision is still @p last. */
    uint64_t update(std::string_view key, Payload value, uint64_t last) {
        detail::CString k(key);
        uint64_t revision = 0;
        detail::check(k.valid() ? snats_kv_update(&revision, kv_, k.c_str(), value.data(), value.size(), last) : detail::nul_inside);
        return revision;
    }
    /** The value (at @p revision when not 0), or nullopt when there is none (or it was deleted). */
    std::optional<KvEntry> get(std::string_view key, uint64_t revision = 0) {
        detail::CString k(key);
        snats_kv_entry *entry = nullptr;
        snats_status status = k.valid() ? snats_kv_get(&entry, kv_, k.c_str(), revision) : SNATS_INVALID_ARG;
        if (status == SNATS_NOT_FOUND) return std::nullopt;
        detail::check(k.valid() ? detail::Outcome(status) : detail::nul_inside);
        return KvEntry(entry);
    }
    /** Deletes @p key (a delete marker; history kept). @p last: only at that revision (0: any). */
    void erase(std::string_view key, uint64_t last = 0) {
        detail::CString k(key);
        detail::check(k.valid() ? snats_kv_delete(kv_, k.c_str(), last) : detail::nul_inside);
    }
    /** Deletes @p key and its history. */
    void purge(std::string_view key, uint64_t last = 0) {
        detail::CString k(key);
        detail::check(k.valid() ? snats_kv_purge(kv_, k.c_str(), last) : detail::nul_inside);
    }
    /** The keys with a value (matching @p filter when not empty), as a JSON array. */
    Json keys(std::string_view filter = {}) {
        detail::CString f(filter);
        json_t *keys = nullptr;
        detail::check(f.valid() ? snats_kv_keys(&keys, kv_, f.or_null()) : detail::nul_inside);
        return Json::adopt(keys);
    }
    std::vector<KvEntry> history(std::string_view key) {
        detail::CString k(key);
        snats_kv_entry **entries = nullptr;
        int count = 0;
        detail::check(k.valid() ? snats_kv_history(&entries, &count, kv_, k.c_str()) : detail::nul_inside);
        std::vector<KvEntry> out;
        try {
            out.reserve(static_cast<size_t>(count));
        } catch (...) {
            snats_kv_entries_destroy(entries, count);
            throw;
        }
        // The entries change hands one by one; the array itself is then freed empty.
        for (int i = 0; i < count; i++) out.emplace_back(std::exchange(entries[i], nullptr));
        snats_kv_entries_destroy(entries, count);
        return out;
    }
    Json status() {
        json_t *status = nullptr;
        detail::check(snats_kv_status(&status, kv_));
        return Json::adopt(status);
    }
    /**
     * Watches @p keys (a subject filter, ">" for all; empty to give them as {"keys": [...]} in
     * @p options): @p fn(const KvEntry *) runs for each
     * entry, lent for the call, and once with nullptr after the initial values. Without @p fn,
     * read the watcher with KvWatcher::next(). @p options: {"include_history", "updates_only",
     * "ignore_deletes", "meta_only"}.
     */
    KvWatcher watch(std::string_view keys, std::function<void(const KvEntry *)> fn = nullptr, const Json &options = Json()) {
        detail::CString k(keys);
        if (!k.valid()) detail::check(detail::nul_inside);
        detail::Registered state;
        snats_kv_watch_handler deliver = fn ? &KvWatcher::deliver : nullptr;
        if (fn) state = detail::Registered(std::make_shared<KvWatcher::State>(KvWatcher::State{std::move(fn), conn_}));
        snats_kv_watcher *watcher = nullptr;
        detail::check(snats_kv_watch(&watcher, kv_, k.or_null(), options.get(), deliver, state.closure()));
        return KvWatcher(watcher, std::move(state));
    }
    snats_kv *get() const noexcept { return kv_; }

private:
    KeyValue(snats_kv *kv, std::shared_ptr<detail::ConnShared> conn) noexcept : kv_(kv), conn_(std::move(conn)) {}
    uint64_t revision_of(snats_status (*store)(uint64_t *, snats_kv *, const char *, const void *, size_t), std::string_view key,
                         Payload value) {
        detail::CString k(key);
        uint64_t revision = 0;
        detail::check(k.valid() ? store(&revision, kv_, k.c_str(), value.data(), value.size()) : detail::nul_inside);
        return revision;
    }
    snats_kv *kv_;
    std::shared_ptr<detail::ConnShared> conn_;
};

} // namespace snats::js

#endif
