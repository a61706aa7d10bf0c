// The SIGBUS guard of mapped spool files (include/CTesseraSpoolGuard.h). The handler may run on
// any thread at any moment, so everything it touches is a fixed table read with atomics and a
// sequence number per slot (a seqlock: a slot being rewritten is skipped, never half-read), and
// the only calls it makes are write(2), sigaction(2) and raise(3) — all async-signal-safe.
#define _GNU_SOURCE
#include "CTesseraSpoolGuard.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct guard_slot {
    /// Even: stable; odd: being written (the handler skips it).
    _Atomic unsigned long sequence;
    /// 0: free, 1: owned by a registration.
    _Atomic int used;
    _Atomic uintptr_t start, end;
    _Atomic int journal_fd;
    _Atomic size_t line_length;
    /// The path and its newline, written while `sequence` is odd.
    char line[TESSERA_SPOOL_GUARD_PATH_MAX + 1];
};

static struct guard_slot slots[TESSERA_SPOOL_GUARD_SLOTS];
static _Atomic unsigned int next_hint;
static _Atomic int active;
/// 0: not installed, 1: being installed, 2: installed.
static _Atomic int install_state;
static struct sigaction previous_action;

static void write_all(int fd, const char *bytes, size_t count) {
    while (count > 0) {
        ssize_t n = write(fd, bytes, count);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        bytes += n;
        count -= (size_t)n;
    }
}

/// Appends the path of the registered mapping holding `address` to its journal (at most one).
static void journal_fault(uintptr_t address) {
    char line[TESSERA_SPOOL_GUARD_PATH_MAX + 1];
    for (int i = 0; i < TESSERA_SPOOL_GUARD_SLOTS; i++) {
        struct guard_slot *slot = &slots[i];
        unsigned long before = atomic_load_explicit(&slot->sequence, memory_order_acquire);
        if (before & 1) continue;
        uintptr_t start = atomic_load_explicit(&slot->start, memory_order_relaxed);
        uintptr_t end = atomic_load_explicit(&slot->end, memory_order_relaxed);
        if (address < start || address >= end) continue;
        int fd = atomic_load_explicit(&slot->journal_fd, memory_order_relaxed);
        size_t length = atomic_load_explicit(&slot->line_length, memory_order_relaxed);
        if (length > sizeof line) continue;
        for (size_t k = 0; k < length; k++) line[k] = ((volatile const char *)slot->line)[k];
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&slot->sequence, memory_order_relaxed) != before) continue;
        write_all(fd, line, length);
        return;
    }
}

static void sigbus_handler(int number, siginfo_t *info, void *context) {
    (void)context;
    int saved_errno = errno;
    // A fault raised by the kernel (si_code > 0) has a meaningful si_addr; a SIGBUS sent by a
    // process (kill, tgkill) has not and is passed on untouched.
    int from_kernel = info != NULL && info->si_code > 0;
    if (from_kernel) journal_fault((uintptr_t)info->si_addr);
    // Hand the signal to what was there before (the default action kills the process; the
    // Swift runtime's crash reporter prints a backtrace first). A kernel fault recurs when this
    // handler returns and the faulting access runs again; a sent one is sent again (it stays
    // pending, blocked, until the return).
    sigaction(number, &previous_action, NULL);
    if (!from_kernel) raise(number);
    errno = saved_errno;
}

int tessera_spool_guard_install(void) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&install_state, &expected, 1)) return 0;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = sigbus_handler;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigfillset(&action.sa_mask);
    if (sigaction(SIGBUS, &action, &previous_action) != 0) {
        int code = errno;
        atomic_store(&install_state, 0);
        return -code;
    }
    atomic_store(&install_state, 2);
    return 0;
}

int tessera_spool_guard_installed(void) { return atomic_load(&install_state) == 2; }

int tessera_spool_guard_register(const void *start, size_t length, int journal_fd, const char *path, size_t path_length) {
    if (path_length > TESSERA_SPOOL_GUARD_PATH_MAX || start == NULL || length == 0) return -1;
    unsigned int hint = atomic_fetch_add_explicit(&next_hint, 1, memory_order_relaxed);
    for (unsigned int n = 0; n < TESSERA_SPOOL_GUARD_SLOTS; n++) {
        int index = (int)((hint + n) % TESSERA_SPOOL_GUARD_SLOTS);
        struct guard_slot *slot = &slots[index];
        int free_slot = 0;
        if (!atomic_compare_exchange_strong(&slot->used, &free_slot, 1)) continue;
        unsigned long sequence = atomic_load_explicit(&slot->sequence, memory_order_relaxed);
        atomic_store_explicit(&slot->sequence, sequence + 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_release);
        memcpy(slot->line, path, path_length);
        slot->line[path_length] = '\n';
        atomic_store_explicit(&slot->line_length, path_length + 1, memory_order_relaxed);
        atomic_store_explicit(&slot->journal_fd, journal_fd, memory_order_relaxed);
        atomic_store_explicit(&slot->start, (uintptr_t)start, memory_order_relaxed);
        atomic_store_explicit(&slot->end, (uintptr_t)start + length, memory_order_relaxed);
        atomic_store_explicit(&slot->sequence, sequence + 2, memory_order_release);
        atomic_fetch_add(&active, 1);
        return index;
    }
    return -1;
}

void tessera_spool_guard_unregister(int index) {
    if (index < 0 || index >= TESSERA_SPOOL_GUARD_SLOTS) return;
    struct guard_slot *slot = &slots[index];
    unsigned long sequence = atomic_load_explicit(&slot->sequence, memory_order_relaxed);
    atomic_store_explicit(&slot->sequence, sequence + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&slot->start, 0, memory_order_relaxed);
    atomic_store_explicit(&slot->end, 0, memory_order_relaxed);
    atomic_store_explicit(&slot->sequence, sequence + 2, memory_order_release);
    atomic_fetch_sub(&active, 1);
    atomic_store_explicit(&slot->used, 0, memory_order_release);
}

int tessera_spool_guard_active(void) { return atomic_load(&active); }

int tessera_spool_guard_make_page_unreadable(void *page) {
    int fd = memfd_create("tessera-unreadable-page", MFD_CLOEXEC);
    if (fd < 0) return -errno;
    long size = sysconf(_SC_PAGESIZE);
    void *mapped = mmap(page, (size_t)size, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
    int code = mapped == MAP_FAILED ? errno : 0;
    close(fd);
    return -code;
}
