#ifndef SWIFTNATS_CJANSSON_SHIM_H
#define SWIFTNATS_CJANSSON_SHIM_H
#include <jansson.h>

/* json_incref / json_decref are static inline in jansson.h; Swift imports them, but giving
 * them names here keeps every caller on one spelling. */
static inline json_t *cjansson_incref(json_t *json) { return json_incref(json); }
static inline void cjansson_decref(json_t *json) { json_decref(json); }
#endif
