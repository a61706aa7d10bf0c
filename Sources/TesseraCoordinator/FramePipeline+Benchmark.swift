import TesseraStore

extension FramePipeline {
    /// Whether `task` belongs to a benchmark job (``TesseraStore/benchmarkFormat``): prepared
    /// inline on the dispatch thread (nothing to read) and recorded without output.
    static func isBenchmark(_ task: ClaimedTask) -> Bool { task.format == TesseraStore.benchmarkFormat }

    /// The TASK of a benchmark task: no parameters, no payloads (protos/PROTOCOL.md §4.2).
    func prepareBenchmark(_ task: ClaimedTask) -> PreparedTask {
        prepared(task, parameters: [], payloads: [])
    }
}
