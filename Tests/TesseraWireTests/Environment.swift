import Foundation

/// Environment access for tests (kept in one place).
enum ProcessInfoShim {
    static func environment(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }
}
