import Foundation
import Testing

/// Runs the real `tessera` executable (built next to the test bundle) as a child process.
enum TesseraProcess {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The process was killed by a signal (`status` is then the signal's number).
        var uncaughtSignal = false
    }

    /// The `tessera` binary of this build.
    static var executable: String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("tessera").path
    }

    /// Runs `tessera args…` to completion and captures its output (`program args…` when
    /// another program is given, e.g. `ip netns exec NS tessera …`).
    static func run(_ args: [String], executable program: String? = nil, timeout: TimeInterval = 300) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program ?? executable)
        process.arguments = args
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Drain both pipes concurrently so a chatty child never blocks on a full pipe.
        let stdoutData = Drain(out.fileHandleForReading), stderrData = Drain(err.fileHandleForReading)
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            process.interrupt()
            process.terminate()
            Issue.record("tessera \(args.joined(separator: " ")) did not finish within \(timeout) s")
        }
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: stdoutData.wait(), stderr: stderrData.wait(),
                      uncaughtSignal: process.terminationReason == .uncaughtSignal)
    }

    /// Starts `tessera args…` in the background (`program args…` when another program is
    /// given); the caller stops it.
    /// `environment` adds variables to the inherited environment.
    static func start(_ args: [String], executable program: String? = nil, environment: [String: String] = [:]) throws -> Background {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program ?? executable)
        process.arguments = args
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, added in added }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return Background(process: process, stdout: out.fileHandleForReading, stderr: Drain(err.fileHandleForReading))
    }

    /// A background `tessera` process.
    final class Background {
        let process: Process
        let stdout: FileHandle
        let stderr: Drain

        init(process: Process, stdout: FileHandle, stderr: Drain) {
            self.process = process
            self.stdout = stdout
            self.stderr = stderr
        }

        /// Reads standard output until a line containing `marker` (blocking; EOF ends it).
        func waitForLine(containing marker: String) -> String? {
            var buffer = Data()
            while true {
                let chunk = stdout.availableData
                if chunk.isEmpty { return nil }
                buffer.append(chunk)
                let text = String(decoding: buffer, as: UTF8.self)
                if let line = text.split(separator: "\n").first(where: { $0.contains(marker) }) { return String(line) }
            }
        }

        /// Sends SIGTERM and waits for the process to exit (a worker drains first); if it is
        /// still running after `grace` seconds, SIGKILL. Returns its status.
        @discardableResult
        func stop(grace: TimeInterval = 20) -> Int32 {
            if process.isRunning { process.terminate() }
            let deadline = Date().addingTimeInterval(grace)
            while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }  // bounded wait for exit
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    /// Collects everything a pipe delivers, on a background thread.
    final class Drain: @unchecked Sendable {
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)
        private let lock = NSLock()

        init(_ handle: FileHandle) {
            Thread.detachNewThread { [self] in
                let all = handle.readDataToEndOfFile()
                lock.lock()
                data = all
                lock.unlock()
                done.signal()
            }
        }

        func wait() -> String {
            done.wait()
            done.signal()
            lock.lock()
            defer { lock.unlock() }
            return String(decoding: data, as: UTF8.self)
        }
    }
}

/// A unique scratch directory, removed when the test ends.
final class TemporaryDirectory {
    let path: String

    init(_ label: String = "tessera") throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func sub(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
