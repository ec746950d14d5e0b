extension HTTPResponse {
    /// A response with body `{"error": message}` and a JSON content type, for the errors the
    /// server produces itself (413, 503).
    static func jsonError(status: Int, message: String) -> HTTPResponse {
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
        return HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: Array(body.utf8))
    }

    /// 503 with `Retry-After: 1`, as `RequestError.unavailable` answers from the application.
    static func unavailable(_ message: String) -> HTTPResponse {
        var response = jsonError(status: 503, message: message)
        response.headers.append(("Retry-After", "1"))
        return response
    }
}
