import Foundation
import Synchronization
import TesseraZMQ
import Testing

@Suite("Polling, wakeups and mailboxes")
struct PollingTests {
    @Test("a poll with nothing ready times out with an empty result")
    func pollTimeout() throws {
        let context = try ZMQContext()
        let socket = try context.makeSocket(.pull)
        try socket.bind("inproc://" + uniqueName("idle"))
        let wakeup = try PollWakeup()
        var poller = ZMQPoller()
        let socketIndex = poller.add(socket)
        poller.add(fileDescriptor: wakeup.fileDescriptor)
        #expect(poller.count == 2)

        let clock = ContinuousClock()
        let start = clock.now
        let result = try poller.poll(timeoutMilliseconds: 60)
        let elapsed = start.duration(to: clock.now)
        #expect(result.isEmpty)
        #expect(result.readyIndices.isEmpty)
        #expect(!result.isReadable(socketIndex))
        #expect(elapsed >= .milliseconds(40))  // Loose: zmq_poll may round the timeout.
        #expect(try poller.poll(timeoutMilliseconds: 0).isEmpty)
    }

    @Test("a poll reports readable and writable sockets by index")
    func pollReadiness() throws {
        let context = try ZMQContext()
        let endpoint = "inproc://" + uniqueName("ready")
        let pull = try context.makeSocket(.pull)
        try pull.bind(endpoint)
        let push = try context.makeSocket(.push)
        try push.connect(endpoint)
        var poller = ZMQPoller()
        let idle = poller.add(try context.makeSocket(.pull))
        let readable = poller.add(pull)
        let writable = poller.add(push, events: .writable)

        try push.send([[42]])
        let result = try poller.poll(timeoutMilliseconds: 10_000)
        #expect(result.readyIndices == [readable, writable])
        #expect(result.readyCount == 2)
        #expect(result[idle].isEmpty)
        #expect(result.isReadable(readable))
        #expect(result.isWritable(writable) && !result.isReadable(writable))
        #expect(try pull.events.contains(.readable))
        #expect(try pull.receiveMultipartBytes(dontWait: true) == [[42]])
        #expect(try !pull.events.contains(.readable))

        poller.setEvents([], at: writable)
        #expect(try poller.poll(timeoutMilliseconds: 0).isEmpty)
    }

    @Test("polling a closed socket throws .notSocket")
    func pollClosedSocket() throws {
        let context = try ZMQContext()
        let socket = try context.makeSocket(.dealer)
        var poller = ZMQPoller()
        poller.add(socket)
        socket.close()
        socket.close()  // Idempotent.
        #expect(socket.isClosed)
        #expect(throws: ZMQError.notSocket) { try poller.poll(timeoutMilliseconds: 0) }
        #expect(throws: ZMQError.notSocket) { try socket.bind("inproc://" + uniqueName("closed")) }
    }

    @Test("a PollWakeup signalled from another thread wakes the poller")
    func wakeupFromAnotherThread() throws {
        let wakeup = try PollWakeup()
        var poller = ZMQPoller()
        let index = poller.add(fileDescriptor: wakeup.fileDescriptor)
        #expect(wakeup.drain() == 0)

        let done = startThread { wakeup.signal() }
        let result = try poller.poll(timeoutMilliseconds: 10_000)  // Deadline; the signal ends it.
        #expect(result.isReadable(index))
        #expect(wait(done))
        #expect(wakeup.drain() == 1)
        #expect(try poller.poll(timeoutMilliseconds: 0).isEmpty)

        // Signals coalesce into one readable state until drained.
        wakeup.signal()
        wakeup.signal()
        wakeup.signal()
        #expect(try poller.poll(timeoutMilliseconds: 0).isReadable(index))
        #expect(wakeup.drain() == 3)
        #expect(try poller.poll(timeoutMilliseconds: 0).isEmpty)
    }

    @Test("a Mailbox delivers every item, in posting order per producer, across threads")
    func mailboxOrdering() throws {
        struct Item: Sendable {
            let producer: Int
            let sequence: Int
        }
        let mailbox = try Mailbox<Item>()
        let producers = 4
        let perProducer = 2_000
        let finished = (0..<producers).map { producer in
            startThread {
                for sequence in 0..<perProducer { mailbox.post(Item(producer: producer, sequence: sequence)) }
            }
        }

        var poller = ZMQPoller()
        let index = poller.add(fileDescriptor: mailbox.fileDescriptor)
        var next = [Int](repeating: 0, count: producers)
        var total = 0
        var inOrder = true
        while total < producers * perProducer {
            let result = try poller.poll(timeoutMilliseconds: 10_000)
            try #require(result.isReadable(index), "mailbox not signalled within the deadline")
            for item in mailbox.drainAll() {
                inOrder = inOrder && item.sequence == next[item.producer]
                next[item.producer] = item.sequence + 1
                total += 1
            }
        }
        #expect(inOrder)
        #expect(next == [Int](repeating: perProducer, count: producers))
        #expect(finished.allSatisfy { wait($0) })
        #expect(mailbox.drainAll().isEmpty)
        #expect(mailbox.pendingCount == 0)

        // A single producer's items come out in exactly the posted order.
        for value in 0..<5 { mailbox.post(Item(producer: 9, sequence: value)) }
        #expect(mailbox.pendingCount == 5)
        #expect(try poller.poll(timeoutMilliseconds: 0).isReadable(index))
        #expect(mailbox.drainAll().map(\.sequence) == [0, 1, 2, 3, 4])
        #expect(try poller.poll(timeoutMilliseconds: 0).isEmpty)
    }

    @Test("a socket thread serves commands posted to its Mailbox (zero-copy messages included)")
    func socketThreadWithMailbox() throws {
        let context = try ZMQContext()
        let endpoint = "inproc://" + uniqueName("mailbox-socket")
        let receiver = try context.makeSocket(.pull)
        try receiver.set(.receiveTimeout, 10_000)
        try receiver.bind(endpoint)

        enum Command: Sendable {
            case send(ZMQMessage)
            case stop
        }
        let mailbox = try Mailbox<Command>()
        let failure = Shared<String?>(nil)
        let done = startThread {
            do {
                let push = try context.makeSocket(.push)
                try push.connect(endpoint)
                var poller = ZMQPoller()
                let inbox = poller.add(fileDescriptor: mailbox.fileDescriptor)
                loop: while true {
                    guard try poller.poll(timeoutMilliseconds: 10_000).isReadable(inbox) else {
                        failure.update { $0 = "socket thread timed out" }
                        return
                    }
                    for command in mailbox.drainAll() {
                        switch command {
                        case .send(let message): try push.send([message])
                        case .stop: break loop
                        }
                    }
                }
            } catch {
                failure.update { $0 = "\(error)" }
            }
        }
        for value in 0..<10 {
            mailbox.post(.send(ZMQMessage([UInt8(value)])))
        }
        mailbox.post(.stop)
        for value in 0..<10 {
            #expect(try receiver.receiveMultipartBytes() == [[UInt8(value)]])
        }
        #expect(wait(done))
        #expect(failure.value == nil)
    }
}
