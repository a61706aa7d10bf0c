import Foundation
import TesseraCore
import TesseraWire
import TesseraWorker
import TesseraZMQ
import Testing

/// A real worker runtime against a scripted coordinator (a ROUTER in the test): what the worker
/// does with TASK payloads on receipt (copied out of libzmq's frames while verified) and how it
/// answers when one does not match its descriptor.
@Suite struct WorkerPayloadTests {
    @Test("a worker verifies TASK payloads as it copies them in: a corrupted or missing payload fails the task as payloadCorrupt (retryable); a good one reaches the executor")
    func taskPayloadsAreVerified() throws {
        let context = try ZMQContext()
        let router = try context.makeSocket(.router)
        try router.set(.receiveTimeout, 20_000)  // a deadline, not a synchronisation
        try router.bind("tcp://127.0.0.1:*")
        let worker = try WorkerRuntime(config: WorkerConfig(endpoint: try router.lastEndpoint, slots: 1, name: "payload-test"))
        let stopped = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? worker.run()
            stopped.signal()
        }
        defer {
            worker.stop()
            _ = stopped.wait(timeout: .now() + 20)
        }

        /// The next message other than HEARTBEAT and CREDIT, with the sender's routing id.
        func next() throws -> (routingID: [UInt8], message: WireMessage) {
            while true {
                let parts = try #require(try router.receiveMultipart(), "the worker went quiet")
                let message = try parts[1].withUnsafeBytes { header throws(WireError) in try WireCodec.decode(header) }
                switch message {
                case .heartbeat, .credit: continue
                default: return (parts[0].bytes, message)
                }
            }
        }
        let (routingID, hello) = try next()
        guard case .hello = hello else { Issue.record("expected HELLO, got \(hello.name)"); return }
        #expect(try router.send([routingID, WireCodec.encode(.welcome(Welcome(
            workerID: WorkerID(1), heartbeatIntervalMillis: 1000, livenessBeats: 5, coordinatorVersion: "test")))]))

        var payload = [UInt8](repeating: 0, count: 1 << 20)
        for index in payload.indices { payload[index] = UInt8(truncatingIfNeeded: index &* 31 &+ index >> 9) }
        let good = PayloadDescriptor(describing: payload)
        func task(_ id: Int64, _ descriptors: [PayloadDescriptor]) -> [UInt8] {
            WireCodec.encode(.task(TaskAssignment(taskID: TaskID(id), attempt: 1, kind: .developTile, jobID: JobID(1), frameID: FrameID(1),
                                                  parameters: [], payloads: descriptors)))
        }
        func failure(of id: Int64) throws -> TaskFailure? {
            let (_, answer) = try next()
            guard case .failure(let failure) = answer, failure.taskID == TaskID(id) else {
                Issue.record("expected FAILURE of task \(id), got \(answer.name)")
                return nil
            }
            return failure
        }

        // One payload byte flipped in transit: the checksum does not match.
        var flipped = payload
        flipped[123_457] ^= 0x10
        #expect(try router.send([routingID, task(1, [good]), flipped]))
        let corrupt = try #require(try failure(of: 1))
        #expect(corrupt.code == .payloadCorrupt && corrupt.retryable)
        #expect(corrupt.reason.contains("XXH3-64"), "\(corrupt.reason)")

        // A descriptor without its frame.
        #expect(try router.send([routingID, task(2, [good])]))
        let missing = try #require(try failure(of: 2))
        #expect(missing.code == .payloadCorrupt && missing.retryable, "\(missing.reason)")

        // The payload as described: accepted, so the task reaches the executor, which refuses
        // its (empty) parameters — any code but payloadCorrupt shows the payload passed.
        #expect(try router.send([routingID, task(3, [good]), payload]))
        let executed = try #require(try failure(of: 3))
        #expect(executed.code != .payloadCorrupt, "\(executed.reason)")
    }
}
