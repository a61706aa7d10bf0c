#ifndef TESSERA_CZEROMQ_SHIM_H
#define TESSERA_CZEROMQ_SHIM_H
#include <zmq.h>
#include <errno.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/eventfd.h>

/// Creates a non-blocking, close-on-exec eventfd with a zero counter (the wakeup primitive of
/// TesseraZMQ's `PollWakeup`). Returns -1 and sets errno on failure.
static inline int tessera_eventfd_create(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}
#endif

/// errno of the calling thread, readable from Swift without depending on the libc module map.
static inline int tessera_errno(void) { return errno; }

#endif
