import Dispatch
import Foundation

/// `models.poll_interval_s`: watches the models folder like Triton's `--model-control-mode=poll`.
/// Every interval it lists the model folders and a fingerprint of each (names, sizes and
/// modification times of the files in it); a new folder is loaded, a changed one reloaded, a
/// removed one unloaded, each through `ModelRepository` (so a folder that fails to load is
/// reported in the index and never disturbs the models serving). The first look only records
/// the folders, which start-up has just loaded.
public final class ModelRepositoryPoller: @unchecked Sendable {
    private let repository: ModelRepository
    private let timer: DispatchSourceTimer
    // Touched only on the repository's queue.
    private var seen: [String: [String]]?

    public init(repository: ModelRepository, intervalSeconds: Double) {
        self.repository = repository
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "dyserve.repository.poll"))
        let interval = DispatchTimeInterval.milliseconds(Int(intervalSeconds * 1000))
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(100))
        timer.setEventHandler { [weak self] in
            guard let poller = self else { return }
            poller.repository.enqueue { poller.poll() }
        }
    }

    private let lock = NSLock()
    private var resumed = false

    public func start() {
        repository.enqueue { [self] in if seen == nil { seen = Self.fingerprints(repository.directory) } }
        lock.withLock {
            guard !resumed else { return }
            resumed = true
            timer.resume()
        }
    }

    public func stop() {
        timer.cancel()
    }

    deinit {
        // libdispatch traps on releasing a source that was never resumed.
        if !resumed { timer.resume() }
        timer.cancel()
    }

    /// One look at the folder; runs on the repository's queue.
    func poll() {
        let now = Self.fingerprints(repository.directory)
        guard let before = seen else {
            seen = now
            return
        }
        for (name, print) in now.sorted(by: { $0.key < $1.key }) where before[name] != print {
            // A failure is recorded by the repository (index, metrics); the next change retries.
            try? repository.loadNow(name)
        }
        for name in before.keys.sorted() where now[name] == nil {
            try? repository.unloadNow(name)
        }
        seen = now
    }

    /// Per model folder, its files' names, sizes and modification times.
    static func fingerprints(_ directory: URL) -> [String: [String]] {
        let fm = FileManager.default
        var result: [String: [String]] = [:]
        for name in ModelDirectory.discover(directory) {
            let folder = directory.appendingPathComponent(name)
            let files = ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
            result[name] = files.map { file in
                let attributes = try? fm.attributesOfItem(atPath: folder.appendingPathComponent(file).path)
                let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
                let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                return "\(file) \(size) \(modified)"
            }
        }
        return result
    }
}
