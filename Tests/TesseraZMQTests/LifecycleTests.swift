import Foundation
import Synchronization
import TesseraZMQ
import Testing

@Suite("Contexts, errors and options")
struct LifecycleTests {
    @Test("shutdown() unblocks a blocking receive in another thread with .terminated")
    func shutdownUnblocksReceive() throws {
        let context = try ZMQContext()
        let ready = DispatchSemaphore(value: 0)
        let outcome = Shared<ZMQError?>(nil)
        let done = startThread {
            do throws(ZMQError) {
                let socket = try context.makeSocket(.pull)
                defer { socket.close() }
                try socket.bind("inproc://" + uniqueName("blocked"))
                ready.signal()
                _ = try socket.receiveMultipart()  // No timeout: only shutdown() ends this.
            } catch {
                outcome.update { $0 = error }
            }
        }
        #expect(wait(ready))
        context.shutdown()
        #expect(wait(done))
        #expect(outcome.value == .terminated)
        #expect(throws: ZMQError.terminated) { _ = try context.makeSocket(.pair) }
        context.shutdown()  // Idempotent.
    }

    @Test("sockets are created with LINGER 0 and options read back")
    func optionsReadBack() throws {
        let context = try ZMQContext(ioThreads: 2)
        let socket = try context.makeSocket(.dealer)
        #expect(try socket.get(.linger) == 0)
        #expect(socket.type == .dealer)

        let integers: [(ZMQSocketOption<Int32>, Int32)] = [
            (.linger, 250), (.sendHighWaterMark, 17), (.receiveHighWaterMark, 19),
            (.reconnectInterval, 150), (.reconnectIntervalMax, 4_000), (.heartbeatInterval, 1_000),
            (.heartbeatTimeout, 3_000), (.heartbeatTTL, 5_000), (.sendTimeout, 123),
            (.receiveTimeout, 456), (.tcpKeepalive, 1), (.tcpKeepaliveIdle, 60),
            (.tcpKeepaliveInterval, 5), (.tcpKeepaliveCount, 3), (.handshakeInterval, 2_500),
            (.connectTimeout, 700), (.sendBufferSize, 1 << 20), (.receiveBufferSize, 1 << 19),
        ]
        for (option, value) in integers {
            try socket.set(option, value)
            #expect(try socket.get(option) == value, "\(option)")
        }
        try socket.set(.maxMessageSize, 300 << 20)
        #expect(try socket.get(.maxMessageSize) == 300 << 20)
        for option in [ZMQSocketOption<Bool>.immediate, .ipv6] {
            try socket.set(option, true)
            #expect(try socket.get(option), "\(option)")
            try socket.set(option, false)
            #expect(try !socket.get(option), "\(option)")
        }
        try socket.set(.routingID, [1, 2, 3, 250])
        #expect(try socket.get(.routingID) == [1, 2, 3, 250])
        try socket.set(.zapDomain, "tessera")
        #expect(try socket.get(.zapDomain) == "tessera")
        #expect(try socket.lastEndpoint == "")

        let router = try context.makeSocket(.router)
        try router.set(.routerMandatory, true)
        try router.set(.routerHandover, true)
        try router.set(.probeRouter, true)
        try router.set(.connectRoutingID, [7])
        let subscriber = try context.makeSocket(.sub)
        try subscriber.set(.subscribe, [])
        try subscriber.set(.unsubscribe, [])
    }

    @Test("errors name the operation, endpoint and option, and match by errno")
    func errorDescriptions() throws {
        let context = try ZMQContext()
        let socket = try context.makeSocket(.dealer)
        let badEndpoint = #expect(throws: ZMQError.self) { try socket.connect("nonsense://x") }
        #expect(badEndpoint == .protocolNotSupported)
        #expect(badEndpoint?.endpoint == "nonsense://x")
        #expect(badEndpoint?.description.hasPrefix("zmq_connect nonsense://x: ") == true)

        let badOption = #expect(throws: ZMQError.invalid) { try socket.set(.routingID, []) }
        #expect(badOption?.description.contains("ZMQ_ROUTING_ID") == true)

        let server = try context.makeSocket(.router)
        try server.bind("tcp://127.0.0.1:*")
        let bound = try server.lastEndpoint
        let clash = try context.makeSocket(.router)
        let inUse = #expect(throws: ZMQError.addressInUse) { try clash.bind(bound) }
        #expect(inUse?.description.contains(bound) == true)
        #expect(throws: ZMQError.noSuchFile) { try clash.unbind(bound) }
        try server.unbind(bound)

        #expect(ZMQError(rawValue: ZMQError.again.rawValue) == .again)
        #expect(ZMQError.terminated.message.isEmpty == false)
        #expect(throws: ZMQError.invalid) { _ = try ZMQContext(ioThreads: -1) }
    }

    @Test("a monitor reports listening, accepted and handshake events")
    func monitorEvents() throws {
        let context = try ZMQContext()
        let server = try context.makeSocket(.router)
        let monitorEndpoint = "inproc://" + uniqueName("monitor")
        try server.startMonitor(endpoint: monitorEndpoint, events: [.listening, .accepted, .handshakeSucceeded])
        let monitor = try context.makeSocket(.pair)
        try monitor.set(.receiveTimeout, 10_000)
        try monitor.connect(monitorEndpoint)
        try server.bind("tcp://127.0.0.1:*")
        let endpoint = try server.lastEndpoint
        let client = try context.makeSocket(.dealer)
        try client.connect(endpoint)

        var kinds: [ZMQMonitorEvents] = []
        while !kinds.contains(.handshakeSucceeded) {
            let parts = try #require(try monitor.receiveMultipart(), "no monitor event within the deadline")
            let event = try #require(ZMQMonitorEvent(parts: parts))
            kinds.append(event.kind)
            #expect(event.endpoint.hasPrefix("tcp://127.0.0.1:"))
        }
        #expect(kinds == [.listening, .accepted, .handshakeSucceeded])
        try server.stopMonitor()
        #expect(ZMQMonitorEvent(parts: [ZMQMessage([1])]) == nil)
    }
}
