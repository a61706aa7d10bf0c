import Dispatch
import Foundation
import Synchronization

/// Turns SIGINT/SIGTERM into a callback on a dispatch queue, instead of killing the process,
/// so services can shut down cleanly. Keep the returned object alive while it should work.
final class SignalWatcher {
    private let sources: [DispatchSourceSignal]

    init(_ signals: [Int32] = [SIGINT, SIGTERM], handler: @escaping @Sendable (Int32) -> Void) {
        var sources: [DispatchSourceSignal] = []
        let queue = DispatchQueue(label: "tessera.signals")
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            sources.append(source)
        }
        self.sources = sources
        for (number, source) in zip(signals, sources) {
            source.setEventHandler { handler(number) }
            source.resume()
        }
    }
}

/// Counts signals received (thread-safe), so the first can mean "drain" and the second "now".
final class SignalCounter: Sendable {
    private let count = Mutex(0)

    /// Records one more signal and returns how many there have been.
    func next() -> Int { count.withLock { $0 += 1; return $0 } }
}
