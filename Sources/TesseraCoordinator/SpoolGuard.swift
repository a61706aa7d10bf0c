import CTesseraSpoolGuard
import Foundation
import TesseraCore
import TesseraStore
#if canImport(Glibc)
import Glibc
#endif

/// The SIGBUS guard of the coordinator's memory-mapped spool files (docs/reliability.md, "Spool
/// checksums"). A mapped page that cannot be read (a disk read error) or that another process cut
/// off by truncating the file raises SIGBUS, which no Swift code can survive: the process still
/// dies, but the handler first appends the file's path to the spool's ``PoisonJournal``, and the
/// next start sets every listed file aside *without mapping it*
/// (``FramePipeline/setAsidePoisonedSpoolFiles()``), so the work is redone instead of crashing
/// again on the same file. One crash per bad file, never a crash loop.
///
/// The handler itself is C (`CTesseraSpoolGuard`): a fixed, lock-free table of registered
/// mappings, `write(2)` to a journal opened beforehand, then the previous action (the default,
/// or the Swift runtime's crash reporter) takes the signal. A SIGBUS anywhere else is handed on
/// untouched.
public enum SpoolGuard {
    /// Installs the process's SIGBUS handler (once; later calls do nothing). The coordinator
    /// calls it when it is created; anything else that maps spool files for real work should too.
    /// Thread-safe.
    public static func install() throws(SpoolError) {
        let result = tessera_spool_guard_install()
        if result != 0 {
            throw SpoolError(path: "SIGBUS", operation: "sigaction", message: String(cString: strerror(-result)), code: -result)
        }
    }

    /// Whether ``install()`` succeeded in this process.
    public static var isInstalled: Bool { tessera_spool_guard_installed() == 1 }

    /// Mappings currently registered (0 once every `withPlane`/`withAssembled` call returned).
    public static var activeRegistrations: Int { Int(tessera_spool_guard_active()) }

    /// Calls `body` with the mapping `[base, base + length)` of the spool file `path` registered:
    /// a SIGBUS inside it journals `path` to `journal` before the process dies. A mapping the table
    /// has no room for runs unguarded (as before the guard). Register after `mmap`, return before
    /// `munmap`.
    static func guarding<T>(_ base: UnsafeRawPointer, length: Int, path: String, journal: PoisonJournal,
                            _ body: () throws -> T) rethrows -> T {
        let slot = path.withCString { tessera_spool_guard_register(base, length, journal.descriptor, $0, strlen($0)) }
        defer { if slot >= 0 { tessera_spool_guard_unregister(slot) } }
        return try body()
    }

    /// Inodes whose mapped pages the test hook makes unreadable: `TESSERA_TEST_SPOOL_UNREADABLE_INODES`
    /// (decimal, comma-separated). Empty in normal runs. Stands for a disk whose sectors under these
    /// files fail to read: the file is intact on disk, but every mapping of it faults.
    static let unreadableInodes: Set<UInt64> = {
        guard let value = ProcessInfo.processInfo.environment["TESSERA_TEST_SPOOL_UNREADABLE_INODES"] else { return [] }
        return Set(value.split(separator: ",").compactMap { UInt64($0.trimmingCharacters(in: .whitespaces)) })
    }()

    /// Test hook: when the file open as `fd` is one of ``unreadableInodes``, makes the last page
    /// of its mapping `[base, base + length)` raise SIGBUS when read (as a bad sector would).
    static func simulateUnreadablePage(fd: Int32, base: UnsafeMutableRawPointer, length: Int) {
        guard !unreadableInodes.isEmpty, length > 0 else { return }
        var st = stat()
        guard fstat(fd, &st) == 0, unreadableInodes.contains(UInt64(st.st_ino)) else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        _ = tessera_spool_guard_make_page_unreadable(base + (length - 1) / page * page)
    }
}

/// The spool's journal of "poisoned" files: `<spool>/poisoned.journal`, one path per line, each
/// appended by the SIGBUS handler when a mapped page of that file could not be read. Opened
/// (`O_APPEND`) when the spool is opened and kept open, so the handler needs nothing but
/// `write(2)`. Read and emptied at the coordinator's start.
public final class PoisonJournal: Sendable {
    /// The journal file.
    public let path: String
    /// Open for appending for the journal's lifetime (closed on deinit).
    let descriptor: Int32

    /// Opens (creating if needed) the journal in the spool `directory`.
    init(directory: String) throws {
        path = directory + "/poisoned.journal"
        descriptor = try SpoolIO.open(path, flags: O_WRONLY | O_CREAT | O_APPEND)
    }

    deinit { close(descriptor) }

    /// The paths listed, in order, without duplicates (empty lines and a torn last line skipped).
    public func entries() -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var seen = Set<String>(), result: [String] = []
        let text = String(decoding: data, as: UTF8.self)
        // A line without its newline was cut short by the crash: not a path to trust.
        let complete = text.hasSuffix("\n") ? text[...] : text[..<(text.lastIndex(of: "\n") ?? text.startIndex)]
        for line in complete.split(separator: "\n") where !line.isEmpty {
            if seen.insert(String(line)).inserted { result.append(String(line)) }
        }
        return result
    }

    /// Empties the journal (after its files were set aside).
    func truncate() throws(SpoolError) {
        if ftruncate(descriptor, 0) != 0 {
            let code = errno
            throw SpoolError(path: path, operation: "ftruncate", message: String(cString: strerror(code)), code: code)
        }
        _ = fsync(descriptor)
    }
}

extension FramePipeline {
    /// Sets aside every spool file the SIGBUS handler journalled in a previous run, without
    /// mapping or reading it: moved into `<spool>/quarantine/` (a bad sector stays owned by the
    /// quarantined file instead of being handed to the next spool file), recorded as a
    /// `spool.corrupt` event, then the journal is emptied. The work is redone by the usual path:
    /// the file is now missing, which throws ``SpoolCorruption`` when its frame's next tile is
    /// cut (decoded again) or its assembly is verified (tiles developed again). Called by the
    /// coordinator's start before anything is dispatched or assembled. Returns the files set aside.
    @discardableResult
    func setAsidePoisonedSpoolFiles() -> [String] {
        let journal = spool.poisonJournal
        let entries = journal.entries()
        guard !entries.isEmpty else { return [] }
        var setAside: [String] = []
        let quarantine = spool.directory + "/quarantine"
        for entry in entries {
            // Only a spool file's name is trusted, and only inside this spool: the journal never
            // makes the coordinator move anything else.
            let name = (entry as NSString).lastPathComponent
            guard name.hasPrefix("frame-"), !name.contains("/"), name != "poisoned.journal" else {
                logger.warning("poisoned-spool journal \(journal.path): ignoring entry '\(entry)' (not a spool file)")
                continue
            }
            let source = spool.directory + "/" + name
            var st = stat()
            guard lstat(source, &st) == 0 else {
                logger.notice("spool file \(source) raised SIGBUS before the last restart and is already gone")
                continue
            }
            var destination = quarantine + "/" + name
            var moved = false
            do {
                try FileManager.default.createDirectory(atPath: quarantine, withIntermediateDirectories: true)
                var n = 1
                while access(destination, F_OK) == 0 {
                    destination = quarantine + "/" + name + ".\(n)"
                    n += 1
                }
                moved = rename(source, destination) == 0
            } catch {
                logger.warning("cannot create \(quarantine): \(error)")
            }
            if !moved {
                guard unlink(source) == 0 else {
                    logger.critical("cannot move or delete the poisoned spool file \(source): \(String(cString: strerror(errno)))")
                    continue
                }
                destination = "(deleted)"
            }
            setAside.append(source)
            let frameID = Self.frameID(ofSpoolFile: name)
            let frame = frameID.flatMap { try? store.frame($0) }
            let what = moved ? "moved to \(destination)" : "deleted"
            events.record(NewEvent(level: .warning, kind: "spool.corrupt",
                                   message: "\(frame?.stem ?? name): spool file \(source) raised SIGBUS in the previous run (a page that could not be read, or the file truncated underneath); \(what) without reading it, its work will be redone",
                                   job: frame?.jobID, frame: frame?.id))
        }
        do { try journal.truncate() } catch {
            logger.critical("cannot empty \(journal.path): \(error)")
        }
        return setAside
    }

    /// The frame a spool file belongs to (`frame-<id>.cfa`, `frame-<id>-m<k>.cfa`, `frame-<id>.rgb`, …).
    static func frameID(ofSpoolFile name: String) -> FrameID? {
        let digits = name.dropFirst("frame-".count).prefix { $0.isNumber }
        return Int64(digits).map { FrameID($0) }
    }
}
