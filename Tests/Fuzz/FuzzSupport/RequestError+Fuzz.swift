import DyServe

extension Fuzz {
    /// A request parser may refuse its input with a client error (4xx) only: `internalError`
    /// (500) is reserved for the server's own bugs, so reaching it from input is one.
    public static func checkClientError(_ error: RequestError, parser: String) {
        check((400..<500).contains(error.status), "\(parser) answered \(error.status) to input: \(error.message)")
    }
}
