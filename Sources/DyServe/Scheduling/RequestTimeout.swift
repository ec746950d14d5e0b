import Dispatch

/// A request's own time limit. It can only shorten `scheduler.timeout_ms` (the scheduler takes
/// the earlier deadline); when a request gives several, the shortest wins. The sources and units:
/// - `/infer` and `/v2/.../infer`: the `timeout` query parameter and the `X-Request-Timeout-Ms`
///   header, in milliseconds; a JSON `/infer` body's `"timeout"` field, in milliseconds too (the
///   same option as the query parameter, like `temperature` or `top_k`).
/// - `/v2/.../infer`: the request parameter `"parameters": {"timeout": N}` in **microseconds**, as
///   Triton's schedule-policy extension defines it (what `tritonclient`'s `infer(timeout=...)`
///   sends; its `client_timeout` is a socket timeout and never reaches the server).
/// Every value must be a whole number from 1 to one day; 0, negative, fractional and non-numeric
/// values are refused with 400 (Triton reads 0 as "no timeout"; here leaving it out says that).
enum RequestTimeout {
    /// Longer than any configurable timeout, so larger values are rejected as mistakes.
    static let maxMilliseconds = 86_400_000
    static let maxMicroseconds = maxMilliseconds * 1000

    /// The shortest limit in nanoseconds, or nil when the request sets none.
    static func parse(query: String?, header: String?) throws(RequestError) -> UInt64? {
        var shortest: UInt64?
        if let query { shortest = try milliseconds(query, source: "query timeout") }
        if let header { shortest = shorter(shortest, try milliseconds(header, source: "X-Request-Timeout-Ms")) }
        return shortest
    }

    /// The shorter of two optional limits.
    static func shorter(_ a: UInt64?, _ b: UInt64?) -> UInt64? {
        guard let a else { return b }
        guard let b else { return a }
        return min(a, b)
    }

    /// What is left of `limit` for the executor: time spent decoding since `started` (uptime ns)
    /// counts against the request's own limit.
    static func remaining(_ limit: UInt64, since started: UInt64) -> UInt64 {
        let spent = DispatchTime.now().uptimeNanoseconds &- started
        return limit > spent ? limit - spent : 1
    }

    /// A JSON number of milliseconds (the `/infer` body's `timeout`), in nanoseconds.
    static func milliseconds(json value: Double, field: String) throws(RequestError) -> UInt64 {
        UInt64(try whole(value, max: maxMilliseconds, field: field, unit: "milliseconds")) * 1_000_000
    }

    /// A JSON number of microseconds (the V2 request parameter `timeout`), in nanoseconds.
    static func microseconds(json value: Double, field: String) throws(RequestError) -> UInt64 {
        UInt64(try whole(value, max: maxMicroseconds, field: field, unit: "microseconds")) * 1_000
    }

    private static func whole(_ value: Double, max: Int, field: String, unit: String) throws(RequestError) -> Int {
        // The range check comes first, so the conversion to Int below cannot trap.
        guard value.isFinite, value >= 1, value <= Double(max), value == value.rounded() else {
            throw .badRequest("\(field) must be a whole number of \(unit) from 1 to \(max), got \(value)")
        }
        return Int(value)
    }

    private static func milliseconds(_ text: String, source: String) throws(RequestError) -> UInt64 {
        let digits = Substring(text).strippingBlanks()
        // Digits only (no sign, no exponent); 9 digits cannot overflow before the range check.
        guard !digits.isEmpty, digits.count <= 9, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let value = Int(digits), value >= 1, value <= maxMilliseconds else {
            throw .badRequest("\(source) must be a whole number of milliseconds from 1 to \(maxMilliseconds), got \"\(text.prefix(40))\"")
        }
        return UInt64(value) * 1_000_000
    }
}
