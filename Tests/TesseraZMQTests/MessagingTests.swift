import Foundation
import Synchronization
import TesseraZMQ
import Testing

@Suite("Sending and receiving")
struct MessagingTests {
    @Test("ROUTER⇄DEALER multipart round trip over tcp with a 0-byte and a 64 MiB zero-copy frame")
    func routerDealerRoundTrip() throws {
        let context = try ZMQContext()
        let router = try context.makeSocket(.router)
        try router.set(.receiveTimeout, 20_000)  // A deadline, not a synchronisation.
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = try router.lastEndpoint
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:") && !endpoint.hasSuffix(":*"))

        let dealer = try context.makeSocket(.dealer)
        try dealer.set(.receiveTimeout, 20_000)
        try dealer.set(.routingID, Array("worker-7".utf8))
        try dealer.connect(endpoint)

        let bigSize = 64 << 20
        let released = DispatchSemaphore(value: 0)
        let releaseCount = Shared(0)
        let big = ZMQMessage(takingOwnershipOf: makePatternBuffer(byteCount: bigSize, seed: 7)) { buffer in
            buffer.deallocate()
            releaseCount.update { $0 += 1 }
            released.signal()
        }
        let parts = [ZMQMessage(), ZMQMessage([1, 2, 3]), big]
        #expect(try dealer.send(parts))
        #expect(parts.allSatisfy { $0.isConsumed })
        #expect(big.count == 0)

        let received = try #require(try router.receiveMultipart())
        try #require(received.count == 4)
        #expect(received[0].bytes == Array("worker-7".utf8))
        #expect(received[1].count == 0)
        #expect(received[2].bytes == [1, 2, 3])
        #expect(hasPattern(received[3], byteCount: bigSize, seed: 7))
        // libzmq releases the zero-copy buffer once written to the socket: exactly once.
        #expect(wait(released))
        #expect(releaseCount.value == 1)

        // Echo back by forwarding the received frames themselves (routing id first).
        #expect(try router.send(received))
        let echoed = try #require(try dealer.receiveMultipart())
        try #require(echoed.count == 3)
        #expect(echoed[0].count == 0)
        #expect(echoed[1].bytes == [1, 2, 3])
        #expect(hasPattern(echoed[2], byteCount: bigSize, seed: 7))
    }

    @Test("PAIR over ipc in a unique temp dir, byte-array parts")
    func pairOverIPC() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let endpoint = "ipc://" + directory.appendingPathComponent("pair.sock").path
        let context = try ZMQContext()
        let a = try context.makeSocket(.pair)
        let b = try context.makeSocket(.pair)
        try b.set(.receiveTimeout, 10_000)
        try a.bind(endpoint)
        #expect(try a.lastEndpoint == endpoint)
        try b.connect(endpoint)
        #expect(try a.send([Array("hello".utf8), [], [0xFF]]))
        #expect(try b.receiveMultipartBytes() == [Array("hello".utf8), [], [0xFF]])
    }

    @Test("a ROUTER addresses each DEALER by its routing id")
    func routingIDAddressing() throws {
        let context = try ZMQContext()
        let endpoint = "inproc://" + uniqueName("routing")
        let router = try context.makeSocket(.router)
        try router.set(.receiveTimeout, 10_000)
        try router.bind(endpoint)
        var dealers: [String: ZMQSocket] = [:]
        for name in ["alpha", "beta", "gamma"] {
            let dealer = try context.makeSocket(.dealer)
            try dealer.set(.receiveTimeout, 10_000)
            try dealer.set(.routingID, Array(name.utf8))
            try dealer.connect(endpoint)
            try dealer.send([Array("ready".utf8)])
            dealers[name] = dealer
        }
        var seen: Set<String> = []
        for _ in 0..<3 {
            let message = try #require(try router.receiveMultipartBytes())
            #expect(message.count == 2 && message[1] == Array("ready".utf8))
            seen.insert(String(decoding: message[0], as: UTF8.self))
        }
        #expect(seen == ["alpha", "beta", "gamma"])

        try router.set(.routerMandatory, true)
        for name in ["gamma", "alpha", "beta"] {
            #expect(try router.send([Array(name.utf8), Array("for \(name)".utf8)]))
        }
        for (name, dealer) in dealers {
            #expect(try dealer.receiveMultipartBytes() == [Array("for \(name)".utf8)])
            #expect(try dealer.receiveMultipart(dontWait: true) == nil)
        }
    }

    @Test("ROUTER_MANDATORY: sending to an unknown peer throws .hostUnreachable naming the peer")
    func routerMandatoryUnknownPeer() throws {
        let context = try ZMQContext()
        let router = try context.makeSocket(.router)
        try router.bind("inproc://" + uniqueName("mandatory"))
        // Without the option the message is silently dropped.
        #expect(try router.send([[0xAB, 0x01], Array("lost".utf8)]))

        try router.set(.routerMandatory, true)
        let error = #expect(throws: ZMQError.hostUnreachable) {
            try router.send([[0xAB, 0x01], Array("lost".utf8)])
        }
        #expect(error?.description.contains("0xab01") == true)
        #expect(error?.operation == "zmq_send")

        let frames = [ZMQMessage([0xAB, 0x02]), ZMQMessage([1])]
        #expect(throws: ZMQError.hostUnreachable) { try router.send(frames) }
        #expect(!frames[0].isConsumed && frames[0].bytes == [0xAB, 0x02])  // Not consumed on failure.
    }

    @Test("dontWait: receiving from an empty socket returns nil, sending without a peer returns false")
    func dontWait() throws {
        let context = try ZMQContext()
        let dealer = try context.makeSocket(.dealer)
        try dealer.bind("inproc://" + uniqueName("empty"))
        #expect(try dealer.receiveMultipart(dontWait: true) == nil)
        #expect(try dealer.receiveMultipartBytes(dontWait: true) == nil)
        #expect(try dealer.send([[1]], dontWait: true) == false)
        let message = ZMQMessage([1])
        #expect(try dealer.send([message], dontWait: true) == false)
        #expect(!message.isConsumed)
        // A receive timeout also ends in nil.
        try dealer.set(.receiveTimeout, 10)
        #expect(try dealer.receiveMultipart() == nil)
    }

    @Test("zero-copy buffers are released exactly once: sent-and-received, and never sent")
    func zeroCopyReleases() throws {
        let context = try ZMQContext()
        let endpoint = "inproc://" + uniqueName("release")
        let pull = try context.makeSocket(.pull)
        try pull.set(.receiveTimeout, 10_000)
        try pull.bind(endpoint)
        let push = try context.makeSocket(.push)
        try push.connect(endpoint)

        let released = Shared(0)
        let messageCount = 200
        let size = 1 << 20
        for round in 0..<messageCount {
            let message = ZMQMessage(takingOwnershipOf: makePatternBuffer(byteCount: size, seed: UInt64(round))) {
                $0.deallocate()
                released.update { $0 += 1 }
            }
            #expect(try push.send([message]))
            // Over inproc the receiver gets the very same buffer; closing it releases the buffer.
            let received = try #require(try pull.receiveMultipart())
            #expect(received.count == 1 && received[0].count == size)
            if round % 50 == 0 { #expect(hasPattern(received[0], byteCount: size, seed: UInt64(round))) }
        }
        #expect(released.value == messageCount)

        do {
            _ = ZMQMessage(takingOwnershipOf: .allocate(byteCount: 16, alignment: 8)) {
                $0.deallocate()
                released.update { $0 += 1 }
            }
        }
        #expect(released.value == messageCount + 1)
    }

    @Test("zero-copy sends of an array (sharing): bytes arrive intact, the array is released exactly once per message, sent or not")
    func sharingArrays() throws {
        let context = try ZMQContext()
        let router = try context.makeSocket(.router)
        try router.set(.receiveTimeout, 20_000)  // A deadline, not a synchronisation.
        try router.bind("tcp://127.0.0.1:*")
        let dealer = try context.makeSocket(.dealer)
        try dealer.connect(try router.lastEndpoint)

        let size = 6 << 20
        let buffer = makePatternBuffer(byteCount: size, seed: 11)
        let payload = [UInt8](buffer)
        buffer.deallocate()
        let released = Shared(0)
        let shared = ZMQMessage(sharing: payload) { released.update { $0 += 1 } }
        #expect(shared.count == size)
        #expect(shared.withUnsafeBytes { $0.baseAddress } == payload.withUnsafeBytes { $0.baseAddress })  // not a copy
        #expect(released.value == 0)  // the message holds the array until libzmq is done
        #expect(try dealer.send([ZMQMessage([7]), shared]))
        let received = try #require(try router.receiveMultipart())
        try #require(received.count == 3)
        #expect(received[1].bytes == [7])
        #expect(hasPattern(received[2], byteCount: size, seed: 11))
        // Released once the bytes are written, on libzmq's I/O thread: poll with a deadline.
        let deadline = ContinuousClock.now + .seconds(10)
        while released.value == 0 && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.001) }
        #expect(released.value == 1)

        // Destroyed unsent: released once, too. An empty array gives an empty frame.
        do { _ = ZMQMessage(sharing: payload) { released.update { $0 += 1 } } }
        #expect(released.value == 2)
        let empty = ZMQMessage(sharing: []) { released.update { $0 += 1 } }
        #expect(empty.count == 0)
        #expect(try dealer.send([empty]))
        let emptyReceived = try #require(try router.receiveMultipart())
        #expect(emptyReceived.count == 2 && emptyReceived[1].count == 0)
        while released.value < 3 && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.001) }
        #expect(released.value == 3)
    }

    @Test("one array shared by many inproc messages: the receiver sees the bytes as sent even if the sender's copy changes")
    func sharingIsImmutable() throws {
        let context = try ZMQContext()
        let pull = try context.makeSocket(.pull)
        try pull.set(.receiveTimeout, 20_000)
        let name = "inproc://" + uniqueName("sharing")
        try pull.bind(name)
        let push = try context.makeSocket(.push)
        try push.connect(name)
        let released = Shared(0)
        var payload = [UInt8](repeating: 1, count: 1 << 20)
        for _ in 0..<8 { #expect(try push.send([ZMQMessage(sharing: payload) { released.update { $0 += 1 } }])) }
        payload[0] = 99  // copy-on-write: the 8 queued messages keep the original storage
        var messages: [ZMQMessage] = []
        for _ in 0..<8 {
            let received = try #require(try pull.receiveMultipart())
            #expect(received.count == 1 && received[0].count == 1 << 20)
            #expect(received[0].withUnsafeBytes { $0.allSatisfy { $0 == 1 } })
            messages += received
        }
        // Over inproc the receiver holds the very storage; releasing its messages releases it.
        #expect(released.value == 0)
        messages.removeAll()
        #expect(released.value == 8)
    }

    @Test("the allocator settings for large messages apply on glibc, once")
    func messageMemory() {
        #expect(MessageMemory.configure())
        #expect(MessageMemory.configure())  // idempotent
        #expect(MessageMemory.mmapThreshold == 32 << 20 && MessageMemory.trimThreshold == 64 << 20)
    }

    @Test("messages: copies, in-place initialisation, empty frames")
    func messageConstruction() throws {
        #expect(ZMQMessage().count == 0)
        #expect(ZMQMessage([]).bytes == [])
        #expect(ZMQMessage([9, 8, 7]).bytes == [9, 8, 7])
        let source: [UInt8] = Array(0..<100)
        let copied = source.withUnsafeBytes { ZMQMessage(copying: $0) }
        #expect(copied.bytes == source)
        let filled = ZMQMessage(count: 4) { buffer in
            for index in buffer.indices { buffer[index] = UInt8(index * 3) }
        }
        #expect(filled.bytes == [0, 3, 6, 9])
        struct Refused: Error {}
        #expect(throws: Refused.self) { _ = try ZMQMessage(count: 8) { _ throws(Refused) in throw Refused() } }
        #expect(filled.description == "ZMQMessage(4 bytes)")
    }
}
