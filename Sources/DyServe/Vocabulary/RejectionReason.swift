/// Why the scheduler answered a request without a result; the `reason` label of
/// `dyserve_rejections_total`.
public enum RejectionReason: String, Sendable, CaseIterable {
    /// The model's queue already held `max_queue_size` requests.
    case queueFull = "queue_full"
    /// The request's deadline passed, in the queue (503) or while it ran (504).
    case timeout
    /// The server is stopping and accepts no new work.
    case shutdown
    /// The client hung up while the request waited; it was dropped without running.
    case clientGone = "client_gone"
}
