/*
 * nss.h: the check of nss.c that launch.c makes before every spawn, that a user still exists,
 * without reading the password database each time when the answer cannot have changed.
 */
#ifndef NINETD_NSS_H
#define NINETD_NSS_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

/* A file as stat(2) saw it: which one, and when and how it last changed. */
typedef struct {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime, ctime;
} file_stamp_t;

/* What an earlier user_exists learnt: the answer came from /etc/passwd, with both files as stamped. */
typedef struct {
  file_stamp_t nsswitch, passwd;
  bool valid;
} user_stamp_t;

/* Whether the user `name` exists (getpwnam_r finds it); `stamp` (zeroed at first) carries over between calls for the same name. */
bool user_exists(const char *name, user_stamp_t *stamp);

#endif
