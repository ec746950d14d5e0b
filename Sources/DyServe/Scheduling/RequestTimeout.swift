/// A request's own time limit: the `timeout` query parameter or the `X-Request-Timeout-Ms`
/// header, in milliseconds. It can only shorten `scheduler.timeout_ms` (the scheduler takes the
/// earlier deadline). Both given: the shorter wins.
enum RequestTimeout {
    /// Longer than any configurable timeout, so larger values are rejected as mistakes.
    static let maxMilliseconds = 86_400_000

    /// The limit in nanoseconds, or nil when the request sets none.
    static func parse(query: String?, header: String?) throws(RequestError) -> UInt64? {
        var shortest: Int?
        if let query { shortest = try milliseconds(query, source: "query timeout") }
        if let header {
            let h = try milliseconds(header, source: "X-Request-Timeout-Ms")
            shortest = min(shortest ?? h, h)
        }
        return shortest.map { UInt64($0) * 1_000_000 }
    }

    private static func milliseconds(_ text: String, source: String) throws(RequestError) -> Int {
        let digits = Substring(text).strippingBlanks()
        // Digits only (no sign, no exponent); 9 digits cannot overflow before the range check.
        guard !digits.isEmpty, digits.count <= 9, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let value = Int(digits), value >= 1, value <= maxMilliseconds else {
            throw .badRequest("\(source) must be a whole number of milliseconds from 1 to \(maxMilliseconds), got \"\(text.prefix(40))\"")
        }
        return value
    }
}
