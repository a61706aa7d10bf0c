import Foundation
import Logging
import TesseraCore
import TesseraStore
import TesseraZMQ

/// The coordinator service: the store, the spool, the task socket and the control socket.
///
/// Start-up is crash recovery: tasks that were running when the previous process died go back
/// to the queue, and frames whose tiles were all done but whose output was not recorded are
/// assembled again (outputs are written atomically, so nothing partial is ever visible).
public final class Coordinator: Sendable {
    public let config: CoordinatorConfig
    public let store: TesseraStore
    public let counters = DispatchCounters()
    private let spool: Spool
    private let context: ZMQContext
    private let logger: Logger
    private let pipeline: FramePipeline
    private let dispatcher: TaskDispatcher
    private let control: ControlServer?
    /// Runs ``FramePipeline/resumeBursts()`` at start and every few seconds.
    private let burstTimer = PeriodicWork(label: "tessera-bursts", seconds: 5)
    private let zap: ZAPHandler?
    /// The coordinator's CURVE public key (what workers and operators pass as
    /// `--coordinator-key`); nil on a plaintext coordinator.
    public let publicKey: String?
    private let metricsServer: MetricsServer?

    /// Also sets the process's allocator for large messages (``MessageMemory/configure()``).
    public init(config: CoordinatorConfig, logger: Logger = Logger(label: "tessera.coordinator")) throws(CoordinatorError) {
        MessageMemory.configure()
        // A mapped spool page that cannot be read is journalled before the process dies (SpoolGuard).
        do { try SpoolGuard.install() } catch { throw .outputDirectoryUnusable(path: config.spoolDirectory, reason: "\(error)") }
        self.config = config
        self.logger = logger
        do {
            let directory = (config.databasePath as NSString).deletingLastPathComponent
            if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            store = try TesseraStore(path: config.databasePath,
                                     options: StoreOptions(busyTimeout: Double(config.databaseBusyTimeoutMillis) / 1000))
        } catch {
            throw .store("cannot open \(config.databasePath): \(error)")
        }
        spool = try Spool(directory: config.spoolDirectory)
        do { context = try ZMQContext(ioThreads: 1) } catch { throw .transport("\(error)") }
        pipeline = FramePipeline(store: store, spool: spool, config: config, logger: logger)
        let security: ServerSecurity
        switch config.security.mode {
        case .insecure:
            security = .plaintext
            zap = nil
            logger.warning("INSECURE: plaintext sockets — no encryption, no authentication; any peer that can reach the endpoints may take tasks, submit and cancel jobs")
        case .curve(let given):
            let keys: CurveKeyPair
            do { keys = try given ?? CurveKeyPair.generate() } catch { throw .transport("cannot create a CURVE key pair: \(error)") }
            let authenticator = Authenticator(store: store, ephemeralKeys: config.security.ephemeralKeys, counters: counters, logger: logger)
            security = ServerSecurity(keys: keys, authenticator: authenticator)
            do { zap = try ZAPHandler(context: context) { authenticator.decide($0) } } catch { throw .transport("\(error)") }
        }
        publicKey = security.keys?.publicKey
        dispatcher = try TaskDispatcher(config: config, store: store, pipeline: pipeline, context: context,
                                    counters: counters, logger: logger, security: security)
        let mailbox = dispatcher.mailbox
        pipeline.setWake { mailbox.post(.tasksAvailable) }
        if let endpoint = config.controlEndpoint {
            let dispatcher = self.dispatcher, counters = self.counters
            let pipeline = self.pipeline
            let hooks = OperatorHooks(
                tasksAvailable: { dispatcher.mailbox.post(.tasksAvailable) },
                cancelRunning: { tasks in if !tasks.isEmpty { dispatcher.mailbox.post(.cancelTasks(tasks)) } },
                drain: { worker, reason in dispatcher.mailbox.post(.drainWorker(worker, reason: reason)) },
                assemble: { frames in DispatchQueue.global(qos: .utility).async { for frame in frames { pipeline.assemble(frame) } } },
                sessions: { dispatcher.sessionsSnapshot.withLock { $0 } },
                record: { event in pipeline.events.record(event) })
            control = try ControlServer(endpoint: endpoint, store: store, context: context, counters: counters, logger: logger,
                                    workersConnected: { counters.workersConnected.load(ordering: .relaxed) },
                                    onSubmit: { dispatcher.mailbox.post(.tasksAvailable) }, security: security, hooks: hooks)
        } else {
            control = nil
        }
        if let endpoint = config.metricsEndpoint {
            let dispatcher = self.dispatcher
            let metrics = FarmMetrics(store: store, counters: counters, sessions: { dispatcher.sessionsSnapshot.withLock { $0 } })
            let timer = metrics.dispatchLatency
            counters.dispatchLatency.withLock { $0 = { latency in timer.recordNanoseconds(Int64(latency / .nanoseconds(1))) } }
            metricsServer = try MetricsServer(endpoint: endpoint, metrics: metrics, logger: logger)
        } else {
            metricsServer = nil
        }
    }

    /// Recovers from any previous run, then binds the sockets and starts dispatching.
    public func start() throws(CoordinatorError) {
        // Spool files whose mapped pages raised SIGBUS in the previous run are set aside unread
        // before anything could map them again: their work is redone, the crash not repeated.
        pipeline.setAsidePoisonedSpoolFiles()
        let unassembled: [FrameID]
        do {
            let requeued = try store.requeueAllRunning(reason: "coordinator restarted")
            if requeued > 0 { logger.notice("requeued \(requeued) task(s) that were running before a restart") }
            unassembled = try store.framesToAssemble()
        } catch {
            throw .store("recovery failed: \(error)")
        }
        // The ZAP handler must be bound before any CURVE socket: without one libzmq admits every key.
        do { try zap?.start() } catch { throw .transport("cannot start the ZAP handler: \(error)") }
        do { try dispatcher.start() } catch {
            zap?.stop()
            throw error
        }
        if !unassembled.isEmpty {
            // Frames whose tiles were all done before a crash: assemble them in the background so
            // dispatching resumes at once.
            logger.notice("assembling \(unassembled.count) frame(s) finished before a restart")
            let pipeline = self.pipeline
            DispatchQueue.global(qos: .utility).async {
                for frame in unassembled { pipeline.assemble(frame) }
            }
        }
        // Bursts left between steps (members all decoded but not planned, merge tiles all done
        // but the merged raw not handed on) resume now, and are re-checked periodically: a
        // member decode that fails by being lost too often has no result that would plan its burst.
        let pipeline = self.pipeline
        burstTimer.start { pipeline.resumeBursts() }
        do {
            try control?.start()
            try metricsServer?.start()
        } catch {
            burstTimer.stop()
            control?.stop()
            dispatcher.stop()
            zap?.stop()
            throw error
        }
    }

    /// Stops dispatching and closes the sockets. Tasks in flight stay `running` in the store and
    /// are requeued by the next start (their results, if they arrive later, are ignored).
    public func stop() {
        burstTimer.stop()
        metricsServer?.stop()
        control?.stop()
        dispatcher.stop()
        zap?.stop()
        context.shutdown()
    }

    /// The task endpoint actually bound (wildcard ports resolved).
    public var taskEndpoint: String? { dispatcher.endpoint }
    /// The control endpoint actually bound, if any.
    public var controlEndpoint: String? { control?.endpoint }
    /// The metrics endpoint actually bound (`HOST:PORT`, path `/metrics`), if any.
    public var metricsEndpoint: String? { metricsServer?.endpoint }

    /// Submits a job in-process (what `tessera run` does; remote CLIs use the control socket).
    public func submit(_ request: JobRequest) throws(CoordinatorError) -> (job: JobID, frames: Int) {
        let result = try JobSubmitter.submit(request, store: store)
        dispatcher.mailbox.post(.tasksAvailable)
        return result
    }
}
