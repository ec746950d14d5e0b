#if canImport(Glibc)
import Glibc
#endif

/// Names the calling thread for the kernel (`top -H`, `perf`, `/proc/<pid>/task/*/comm`).
enum ThreadName {
    #if os(Linux)
    private typealias SetName = @convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32
    /// glibc declares `pthread_setname_np` only under _GNU_SOURCE, which Swift's Glibc module
    /// does not define, so it is looked up at run time.
    private static let setter: SetName? = {
        guard let symbol = dlsym(nil, "pthread_setname_np") else { return nil }
        return unsafeBitCast(symbol, to: SetName.self)
    }()
    #endif

    static func set(_ name: String) {
        #if os(Linux)
        // The kernel keeps 15 bytes; keep the end, which tells workers apart.
        let short = String(decoding: name.utf8.suffix(15), as: UTF8.self)
        _ = setter?(pthread_self(), short)
        #endif
    }
}
