import Dispatch

/// Wraps the service's executor to feed `InferenceStatistics` from every completed job, so the
/// V2 statistics count `/infer` and V2 requests alike without either route keeping its own books.
/// Whatever executor runs behind it (worker pool, batching scheduler) is untouched; executions are
/// counted from the `ExecutionShare` it reports, so a batch of five requests is one execution.
struct StatisticsRecordingExecutor: InferenceExecutor {
    let inner: any InferenceExecutor
    let statistics: InferenceStatistics

    func submit(_ job: InferenceJob, completion: @escaping @Sendable (InferenceCompletion) -> Void) throws(RequestError) {
        let submitted = DispatchTime.now().uptimeNanoseconds
        let statistics = self.statistics
        let model = job.modelName
        let samples = job.input.shape.first ?? 0
        do {
            try inner.submit(job) { done in
                let total = DispatchTime.now().uptimeNanoseconds &- submitted
                var execution = done.execution
                switch done.result {
                case .success:
                    statistics.recordSuccess(model: model, samples: samples, queueNs: done.queueNanoseconds,
                                             compute: .init(done), totalNs: total)
                    // An executor that does not report executions ran the job on its own.
                    if execution == nil { execution = ExecutionShare(batchSize: samples, countsExecution: true) }
                case .failure:
                    statistics.recordFailure(model: model, totalNs: total)
                }
                // Also for a request answered 504 after its execution: the model did execute.
                if let execution, execution.countsExecution {
                    statistics.recordExecution(model: model, batchSize: execution.batchSize, compute: .init(done))
                }
                completion(done)
            }
        } catch {
            statistics.recordFailure(model: model, totalNs: DispatchTime.now().uptimeNanoseconds &- submitted)
            throw error
        }
    }
}
