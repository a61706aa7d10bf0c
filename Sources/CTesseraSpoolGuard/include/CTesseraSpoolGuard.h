#ifndef CTESSERASPOOLGUARD_H
#define CTESSERASPOOLGUARD_H

#include <stddef.h>

/// The SIGBUS guard of the coordinator's memory-mapped spool files (docs/reliability.md, "Spool
/// checksums"). A page of a mapped file that cannot be read (disk read error) or that was cut
/// off by another process truncating the file raises SIGBUS; there is no safe way to resume
/// Swift code after it, so the process still dies — but first the handler appends the mapped
/// file's path to a journal, so that the next start can set the file aside without mapping it.

/// Most mappings registered at once; a registration beyond it is refused (the mapping is then
/// unguarded, as before the guard existed).
#define TESSERA_SPOOL_GUARD_SLOTS 256
/// Longest path (bytes, without its terminating newline) a registration accepts.
#define TESSERA_SPOOL_GUARD_PATH_MAX 4095

/// Installs the process's SIGBUS handler (`sigaction`, `SA_SIGINFO`), once: later calls do
/// nothing. The action in place before (the default, or the Swift runtime's crash reporter)
/// is kept and handed every SIGBUS after the handler ran: a fault inside a registered mapping is
/// journalled first, any other SIGBUS is not touched at all. Returns 0, or `-errno` when
/// `sigaction` fails. Thread-safe.
int tessera_spool_guard_install(void);

/// 1 when ``tessera_spool_guard_install`` succeeded in this process, 0 otherwise.
int tessera_spool_guard_installed(void);

/// Registers the mapping `[start, start + length)` of the file `path` (`path_length` bytes, no
/// NUL needed): a SIGBUS at an address inside it appends `path` and a newline to the journal
/// `journal_fd` (opened `O_APPEND` by the caller, open for as long as the registration lasts).
/// The path is copied (pre-encoded here, not in the handler). Returns the registration's slot
/// (≥ 0) for ``tessera_spool_guard_unregister``, or -1 when the table is full or the path is too
/// long (the mapping is then unguarded). Lock-free; thread-safe. Register after `mmap`,
/// unregister before `munmap`.
int tessera_spool_guard_register(const void *start, size_t length, int journal_fd, const char *path, size_t path_length);

/// Ends the registration `slot` returned by ``tessera_spool_guard_register``. Lock-free.
void tessera_spool_guard_unregister(int slot);

/// Registrations currently active (a diagnostic for tests: 0 when every mapping was released).
int tessera_spool_guard_active(void);

/// Test hook (docs/reliability.md): replaces the page at `page` (page-aligned, inside a
/// mapping) with a shared mapping of an empty memory file, so that reading it raises SIGBUS
/// exactly as a page the disk cannot read would. Returns 0 or `-errno`.
int tessera_spool_guard_make_page_unreadable(void *page);

#endif
