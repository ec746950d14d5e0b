/// `GET /openapi.json`: the service's OpenAPI 3.1 contract, docs/openapi.json compiled into the
/// binary (`OpenAPIDocument+JSON.swift`, written by scripts/openapi-embed.sh), so the served
/// contract is the committed one (OpenAPIDocumentTests compares the two byte for byte).
enum OpenAPIDocument {
    /// The document's bytes, built once.
    static let bytes: [UInt8] = Array(text.utf8)

    static func response() -> HTTPResponse {
        HTTPResponse.json(bytes)
    }
}
