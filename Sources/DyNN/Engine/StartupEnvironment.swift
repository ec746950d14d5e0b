extension Backend {
    /// Environment variables this backend wants set when the process starts, given the current
    /// environment; empty when it wants none or the operator already chose. The fast backend's OpenMP
    /// runtime (libgomp) reads its waiting policy once, when it loads, so a server applies these by
    /// restarting itself with them before it builds any engine.
    ///
    /// Why the fast backend asks for a finite `GOMP_SPINCOUNT`: a pass has many short parallel regions
    /// separated by serial work, so its speed is set by how fast idle workers answer the next region.
    /// Spinning forever (`OMP_WAIT_POLICY=active`) takes cores from everything else once a pass ends,
    /// sleeping at once (`passive`) pays a wake-up per region. With one OpenMP team per lane
    /// (`OpenMPLane`) a finite spin count takes effect: workers spin through the gaps of a pass and sleep
    /// shortly after it (BENCHMARKS.md, served mode). An explicit `OMP_WAIT_POLICY` or `GOMP_SPINCOUNT`
    /// (e.g. `passive` on shared, unpinned cores) wins.
    public func startupEnvironment(given environment: [String: String]) -> [String: String] {
        switch self {
        case .reference:
            return [:]
        case .fast:
            guard environment["OMP_WAIT_POLICY"] == nil, environment["GOMP_SPINCOUNT"] == nil else { return [:] }
            return ["GOMP_SPINCOUNT": Self.spinCount]
        }
    }

    /// Iterations a waiting libgomp thread spins before it sleeps: long enough to cover the serial work
    /// between two layers, short enough that idle workers go to sleep soon after a request.
    static let spinCount = "3000000"
}
