import Logging
import TesseraStore

/// The operators' event log: each notable thing the coordinator does is logged and appended to
/// the store's `events` table (read by `tessera events` and the status views). Recording an event
/// never fails the operation it describes.
struct EventLog: Sendable {
    let store: TesseraStore
    let logger: Logger

    func record(_ event: NewEvent) {
        let level: Logger.Level =
            switch event.level {
            case .debug: .debug
            case .info: .info
            case .warning: .warning
            case .error: .error
            }
        logger.log(level: level, "\(event.kind): \(event.message)")
        do { _ = try store.appendEvent(event) } catch {
            logger.error("cannot record event \(event.kind): \(error)")
        }
    }
}
