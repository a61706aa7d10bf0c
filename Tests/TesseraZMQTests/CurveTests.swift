import TesseraZMQ
import Testing

@Suite("CURVE and Z85")
struct CurveTests {
    @Test("key pairs are 40 Z85 characters and the public key derives from the secret")
    func keyPair() throws {
        let pair = try ZMQCurve.generateKeyPair()
        #expect(pair.publicKey.count == 40 && pair.secretKey.count == 40)
        #expect(pair.publicKey != pair.secretKey)
        #expect(try ZMQCurve.z85Decode(pair.publicKey).count == 32)
        #expect(try ZMQCurve.publicKey(forSecretKey: pair.secretKey) == pair.publicKey)
        #expect(try ZMQCurve.generateKeyPair().publicKey != pair.publicKey)
        #expect(throws: ZMQError.invalid) { _ = try ZMQCurve.publicKey(forSecretKey: "short") }
        #expect(throws: ZMQError.invalid) { _ = try ZMQCurve.publicKey(forSecretKey: String(repeating: "A", count: 80)) }
        #expect(throws: ZMQError.invalid) { _ = try ZMQCurve.publicKey(forSecretKey: String(repeating: "\"", count: 40)) }
    }

    @Test("Z85 round trip, the reference vector, and rejection of malformed input")
    func z85() throws {
        // The example from the Z85 specification (ZeroMQ RFC 32).
        let hello: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        #expect(try ZMQCurve.z85Encode(hello) == "HelloWorld")
        #expect(try ZMQCurve.z85Decode("HelloWorld") == hello)
        let bytes: [UInt8] = (0..<64).map { UInt8(($0 * 37) & 0xFF) }
        #expect(try ZMQCurve.z85Decode(ZMQCurve.z85Encode(bytes)) == bytes)
        #expect(try ZMQCurve.z85Encode([]) == "")
        #expect(throws: ZMQError.invalid) { _ = try ZMQCurve.z85Encode([1, 2, 3]) }
        #expect(throws: ZMQError.invalid) { _ = try ZMQCurve.z85Decode("Hell") }
        #expect(throws: ZMQError.invalid) { _ = try ZMQCurve.z85Decode("Hell\"") }
    }

    @Test("a CURVE pair talks; a client with the wrong server key is refused")
    func securedPair() throws {
        let context = try ZMQContext()
        let serverKeys = try ZMQCurve.generateKeyPair()
        let server = try context.makeSocket(.router)
        try server.set(.curveServer, true)
        try server.set(.curveSecretKey, serverKeys.secretKey)
        try server.set(.receiveTimeout, 10_000)
        #expect(try server.get(.curveServer))
        #expect(try server.get(.curveSecretKey) == serverKeys.secretKey)
        let monitorEndpoint = "inproc://" + uniqueName("curve-monitor")
        try server.startMonitor(endpoint: monitorEndpoint, events: .handshakeFailed)
        let monitor = try context.makeSocket(.pair)
        try monitor.set(.receiveTimeout, 10_000)
        try monitor.connect(monitorEndpoint)
        try server.bind("tcp://127.0.0.1:*")
        let endpoint = try server.lastEndpoint

        func client(serverKey: String, id: String) throws -> ZMQSocket {
            let keys = try ZMQCurve.generateKeyPair()
            let socket = try context.makeSocket(.dealer)
            try socket.set(.curvePublicKey, keys.publicKey)
            try socket.set(.curveSecretKey, keys.secretKey)
            try socket.set(.curveServerKey, serverKey)
            #expect(try socket.get(.curveServerKey) == serverKey)
            try socket.set(.routingID, Array(id.utf8))
            try socket.connect(endpoint)
            return socket
        }

        // The intruder's hello cannot be decrypted: the server reports a failed handshake and
        // the queued message never arrives.
        let intruder = try client(serverKey: try ZMQCurve.generateKeyPair().publicKey, id: "intruder")
        #expect(try intruder.send([Array("let me in".utf8)]))
        let failure = try #require(try monitor.receiveMultipart(), "no handshake failure reported")
        let event = try #require(ZMQMonitorEvent(parts: failure))
        #expect(ZMQMonitorEvents.handshakeFailed.contains(event.kind))
        try server.set(.receiveTimeout, 200)
        #expect(try server.receiveMultipart() == nil)

        let trusted = try client(serverKey: serverKeys.publicKey, id: "trusted")
        #expect(try trusted.send([Array("hello".utf8)]))
        try server.set(.receiveTimeout, 10_000)
        let message = try #require(try server.receiveMultipartBytes())
        #expect(message == [Array("trusted".utf8), Array("hello".utf8)])
        #expect(try server.receiveMultipart(dontWait: true) == nil)
    }
}
