/*
 * mem.c: one job, giving memory back to the system: malloc_trim(3) after start-up and reloads,
 * when module loading and configuration parsing have left freed malloc memory that glibc keeps
 * (Node frees it, but the pages stay resident). It takes no decisions.
 */
#include <malloc.h>

#include "exports.h"
#include "napi.h"

/* malloc_trim(3) with no pad: returns whether any memory was given back. */
napi_value js_trimMemory(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
#ifdef __GLIBC__
  int r = malloc_trim(0);
#else
  int r = 0;
#endif
  CHECK(napi_get_boolean(env, r != 0, &out));
  return out;
}
