import Foundation
import Synchronization
import TesseraZMQ

/// A unique name for inproc endpoints and temp dirs (tests run in parallel).
func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString)"
}

/// A fresh temporary directory, removed by the caller with `removeTemporaryDirectory`.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("tessera-zmq"))
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A value shared between the test and the threads it starts.
final class Shared<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value { storage.withLock { $0 } }
    func update<R: Sendable>(_ body: (inout Value) -> R) -> R { storage.withLock { body(&$0) } }
}

/// Runs `body` on a new dedicated thread (sockets are created and used there); the returned
/// semaphore is signalled when it finishes.
func startThread(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        body()
        done.signal()
    }
    thread.start()
    return done
}

/// Waits for a semaphore with a generous deadline; false if it expired (a failed test, not a hang).
func wait(_ semaphore: DispatchSemaphore, seconds: Double = 10) -> Bool {
    semaphore.wait(timeout: .now() + seconds) == .success
}

/// Fills `buffer` (a multiple of 8 bytes, 8-aligned) with a position-dependent pattern.
func fillPattern(_ buffer: UnsafeMutableRawBufferPointer, seed: UInt64) {
    let words = buffer.bindMemory(to: UInt64.self)
    for index in words.indices {
        var z = (UInt64(index) &+ seed) &* 0x9E37_79B9_7F4A_7C15
        z ^= z >> 31
        words[index] = z
    }
}

/// A freshly allocated patterned buffer; the caller owns it.
func makePatternBuffer(byteCount: Int, seed: UInt64) -> UnsafeMutableRawBufferPointer {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: 8)
    fillPattern(buffer, seed: seed)
    return buffer
}

/// Whether `message` holds exactly the pattern of `byteCount` bytes with `seed`.
func hasPattern(_ message: ZMQMessage, byteCount: Int, seed: UInt64) -> Bool {
    guard message.count == byteCount else { return false }
    let expected = makePatternBuffer(byteCount: byteCount, seed: seed)
    defer { expected.deallocate() }
    return message.withUnsafeBytes { memcmp($0.baseAddress!, expected.baseAddress!, byteCount) == 0 }
}
