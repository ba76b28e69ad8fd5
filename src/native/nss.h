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

/* What an earlier user_exists learnt of the files as stamped (a zeroed stamp knows nothing). */
typedef struct {
  file_stamp_t nsswitch, passwd;
  enum {
    STAMP_UNKNOWN, /* nothing yet, or the files have changed since */
    STAMP_CARRY,   /* the user is in /etc/passwd and glibc answers from it: yes without a lookup */
    STAMP_ASK,     /* these files let no answer carry over: a lookup every time, nothing more */
  } verdict;
} user_stamp_t;

/* Whether the user `name` exists (getpwnam_r finds it); `stamp` (zeroed at first) carries over between calls for the same name. */
bool user_exists(const char *name, user_stamp_t *stamp);

#endif
