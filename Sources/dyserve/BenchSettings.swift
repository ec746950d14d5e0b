import DyNN

/// What `dyserve bench` was asked to measure, checked before any model is loaded.
struct BenchSettings: Sendable, Equatable {
    var backend: Backend
    var batch: Int
    /// Intra-op threads; for the reference backend always 1 (it runs on the calling thread).
    var threads: Int
    var iterations: Int
    var warmup: Int

    /// Upper bounds that keep a typo (`--batch 10000000`) from allocating the machine away.
    static let maxBatch = 4096
    static let maxIterations = 1_000_000
    static let maxThreads = 1024

    /// `threads == nil` means the backend's default: 1 for reference, `defaultThreads` for fast.
    init(backend: Backend, batch: Int, threads: Int?, iterations: Int, warmup: Int,
                defaultThreads: Int) throws(BenchSettingsError) {
        guard (1...Self.maxBatch).contains(batch) else {
            throw .outOfRange(option: "--batch", value: batch, range: 1...Self.maxBatch)
        }
        guard (1...Self.maxIterations).contains(iterations) else {
            throw .outOfRange(option: "--iterations", value: iterations, range: 1...Self.maxIterations)
        }
        guard (0...Self.maxIterations).contains(warmup) else {
            throw .outOfRange(option: "--warmup", value: warmup, range: 0...Self.maxIterations)
        }
        if let threads {
            guard (1...Self.maxThreads).contains(threads) else {
                throw .outOfRange(option: "--threads", value: threads, range: 1...Self.maxThreads)
            }
            if backend == .reference && threads != 1 {
                throw .threadsUnsupported(backend: backend, requested: threads)
            }
        }
        self.backend = backend
        self.batch = batch
        self.threads = threads ?? (backend == .reference ? 1 : max(1, defaultThreads))
        self.iterations = iterations
        self.warmup = warmup
    }
}

/// A bench option the command refuses, with what was given and what is allowed.
enum BenchSettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    case outOfRange(option: String, value: Int, range: ClosedRange<Int>)
    case threadsUnsupported(backend: Backend, requested: Int)

    var description: String {
        switch self {
        case .outOfRange(let option, let value, let range):
            return "\(option) must be between \(range.lowerBound) and \(range.upperBound), got \(value)"
        case .threadsUnsupported(let backend, let requested):
            return "the \(backend.rawValue) backend runs single-threaded on the calling thread: "
                + "--threads must be 1, got \(requested) (use --backend fast for intra-op threads)"
        }
    }
}
