// swiftnats C++ layer: Object Store buckets on JetStream (docs/JETSTREAM.md). Included by
// <swiftnats.hpp>.
#ifndef SWIFTNATS_OBJECT_STORE_HPP
#define SWIFTNATS_OBJECT_STORE_HPP

#include "jetstream.hpp"

namespace snats::js {

/** An Object Store bucket (snats_obj): objects of any size, in chunks. */
class ObjectStore {
public:
    static ObjectStore create(JetStream &js, std::string_view bucket, const Json &config = Json()) {
        detail::CString b(bucket);
        snats_obj *obs = nullptr;
        detail::check(b.valid() ? snats_obj_bucket_create(&obs, js.get(), b.c_str(), config.get()) : detail::nul_inside);
        return ObjectStore(obs);
    }
    static ObjectStore bind(JetStream &js, std::string_view bucket) {
        detail::CString b(bucket);
        snats_obj *obs = nullptr;
        detail::check(b.valid() ? snats_obj_bucket_bind(&obs, js.get(), b.c_str()) : detail::nul_inside);
        return ObjectStore(obs);
    }
    static void remove_bucket(JetStream &js, std::string_view bucket) {
        detail::CString b(bucket);
        detail::check(b.valid() ? snats_obj_bucket_delete(js.get(), b.c_str()) : detail::nul_inside);
    }
    ObjectStore(ObjectStore &&other) noexcept : obs_(std::exchange(other.obs_, nullptr)) {}
    ObjectStore &operator=(ObjectStore &&other) noexcept {
        std::swap(obs_, other.obs_);
        return *this;
    }
    ObjectStore(const ObjectStore &) = delete;
    ObjectStore &operator=(const ObjectStore &) = delete;
    ~ObjectStore() { snats_obj_destroy(obs_); }

    /** Stores @p data as object @p name; returns its info (size, chunks, digest...). */
    Json put(std::string_view name, Payload data) {
        detail::CString n(name);
        json_t *info = nullptr;
        detail::check(n.valid() ? snats_obj_put_bytes(&info, obs_, n.c_str(), data.data(), data.size()) : detail::nul_inside);
        return Json::adopt(info);
    }
    /** The object's bytes (its digest checked). Throws Error(SNATS_NOT_FOUND). */
    std::string get(std::string_view name) {
        detail::CString n(name);
        json_t *info = nullptr;
        void *data = nullptr;
        size_t len = 0;
        detail::check(n.valid() ? snats_obj_get_bytes(&info, &data, &len, obs_, n.c_str()) : detail::nul_inside);
        snats_json_decref(info);
        std::unique_ptr<void, void (*)(void *)> owned(data, snats_free);
        return std::string(static_cast<const char *>(data), len);
    }
    /** Streams the object from a file (or into one). */
    Json put_file(const Json &meta, std::string_view path) {
        detail::CString p(path);
        json_t *info = nullptr;
        detail::check(p.valid() ? snats_obj_put_file(&info, obs_, meta.get(), p.c_str()) : detail::nul_inside);
        return Json::adopt(info);
    }
    Json get_file(std::string_view name, std::string_view path) {
        detail::CString n(name), p(path);
        json_t *info = nullptr;
        detail::check(n.valid() && p.valid() ? snats_obj_get_file(&info, obs_, n.c_str(), p.c_str()) : detail::nul_inside);
        return Json::adopt(info);
    }
    Json info(std::string_view name, bool show_deleted = false) {
        detail::CString n(name);
        json_t *info = nullptr;
        detail::check(n.valid() ? snats_obj_info(&info, obs_, n.c_str(), show_deleted) : detail::nul_inside);
        return Json::adopt(info);
    }
    void erase(std::string_view name) {
        detail::CString n(name);
        detail::check(n.valid() ? snats_obj_delete(obs_, n.c_str()) : detail::nul_inside);
    }
    /** The objects' infos, as a JSON array. */
    Json list(bool show_deleted = false) {
        json_t *infos = nullptr;
        detail::check(snats_obj_list(&infos, obs_, show_deleted));
        return Json::adopt(infos);
    }
    Json status() {
        json_t *status = nullptr;
        detail::check(snats_obj_status(&status, obs_));
        return Json::adopt(status);
    }
    snats_obj *get() const noexcept { return obs_; }

private:
    explicit ObjectStore(snats_obj *obs) noexcept : obs_(obs) {}
    snats_obj *obs_;
};

} // namespace snats::js

#endif
