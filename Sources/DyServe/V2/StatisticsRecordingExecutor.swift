import Dispatch

/// Wraps the service's executor to feed `InferenceStatistics` from every completed job, so the
/// V2 statistics count `/infer` and V2 requests alike without either route keeping its own books.
/// Whatever executor runs behind it (worker pool, batching scheduler) is untouched.
struct StatisticsRecordingExecutor: InferenceExecutor {
    let inner: any InferenceExecutor
    let statistics: InferenceStatistics

    func submit(_ job: InferenceJob, completion: @escaping @Sendable (InferenceCompletion) -> Void) throws(RequestError) {
        let submitted = DispatchTime.now().uptimeNanoseconds
        let statistics = self.statistics
        let model = job.modelName
        let batch = job.input.shape.first ?? 0
        do {
            try inner.submit(job) { done in
                let total = DispatchTime.now().uptimeNanoseconds &- submitted
                switch done.result {
                case .success:
                    statistics.recordSuccess(model: model, batch: batch, queueNs: done.queueNanoseconds,
                                             computeNs: done.computeNanoseconds, totalNs: total)
                case .failure:
                    statistics.recordFailure(model: model, totalNs: total)
                }
                completion(done)
            }
        } catch {
            statistics.recordFailure(model: model, totalNs: DispatchTime.now().uptimeNanoseconds &- submitted)
            throw error
        }
    }
}
