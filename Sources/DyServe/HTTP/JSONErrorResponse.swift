extension HTTPResponse {
    /// The service's one JSON error writer: a response with body `{"error": message}` and a JSON
    /// content type. Used for the errors the server produces itself (400, 413, 503) and, through
    /// `RequestError` and `SchedulingRejection`, for every error the routes answer.
    static func jsonError(status: Int, message: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        var body = "{\"error\": \""
        for scalar in message.unicodeScalars {
            switch scalar {
            case "\"": body += "\\\""
            case "\\": body += "\\\\"
            case "\n": body += "\\n"
            case "\r": body += "\\r"
            case "\t": body += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                body += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: body.unicodeScalars.append(scalar)
            }
        }
        body += "\"}"
        return HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(body.utf8))
    }

    /// 503 with `Retry-After: 1`, as `RequestError.unavailable` answers from the application.
    static func unavailable(_ message: String) -> HTTPResponse {
        jsonError(status: 503, message: message, headers: [("Retry-After", "1")])
    }

    /// A 200 (or `status`) answer with a JSON body.
    static func json(_ body: [UInt8], status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: body)
    }
}
