/// The message-framing rules of RFC 9112 that libmicrohttpd 0.9.75 does not enforce itself,
/// checked on the request's header fields before any of its body is read. A request that breaks
/// one is answered 400 and its connection closed: if a proxy in front framed it differently, the
/// bytes after it must not be read as another request (request smuggling).
///
/// What MHD enforces on its own and the application never sees: a `Content-Length` that is not a
/// decimal number (MHD answers 400 and closes); a malformed chunked body.
enum RequestFraming {
    /// Why the header fields (names as sent, in arrival order) cannot frame a request, or nil.
    static func violation(in fields: [(name: String, value: String)]) -> String? {
        for (name, _) in fields {
            if let bad = name.unicodeScalars.first(where: { !isTokenCharacter($0) }) {
                let what = bad == " " || bad == "\t" ? "whitespace" : "the character U+\(hex(bad.value))"
                return "header name \"\(printable(name))\" contains \(what); field names are tokens and no "
                    + "whitespace may precede the colon (RFC 9112 section 5.1)"
            }
        }
        let lengths = fields.filter { $0.name.lowercased() == "content-length" }.map(\.value)
        let codings = fields.filter { $0.name.lowercased() == "transfer-encoding" }.map(\.value)
        if !lengths.isEmpty && !codings.isEmpty {
            return "a request may not carry both Content-Length and Transfer-Encoding (RFC 9112 section 6.1)"
        }
        if lengths.count > 1 {
            return "Content-Length appears \(lengths.count) times; send it once"
        }
        if let length = lengths.first {
            let digits = Substring(length).strippingBlanks()
            if digits.isEmpty || !digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
                return "Content-Length \"\(printable(length))\" is not a non-negative decimal number"
            }
        }
        if !codings.isEmpty {
            let listed = codings.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
                .map { $0.strippingBlanks().lowercased() }
            if listed != ["chunked"] {
                return "Transfer-Encoding \"\(printable(codings.joined(separator: ", ")))\" is not supported: only a "
                    + "single \"chunked\" is accepted (compress with Content-Encoding instead)"
            }
        }
        return nil
    }

    /// RFC 9110 `tchar`.
    private static func isTokenCharacter(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "a"..."z", "A"..."Z", "0"..."9": true
        case "!", "#", "$", "%", "&", "'", "*", "+", "-", ".", "^", "_", "`", "|", "~": true
        default: false
        }
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// `text` with control characters escaped and cut to a length fit for an error message.
    private static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(64) {
            if scalar.value < 0x20 || scalar.value == 0x7F { out += "\\u{\(hex(scalar.value))}" } else { out.unicodeScalars.append(scalar) }
        }
        return text.unicodeScalars.count > 64 ? out + "..." : out
    }
}
