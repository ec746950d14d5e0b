import Testing
@testable import DyServe

@Suite struct ContentCodingTests {
    let text = Array(String(repeating: "dynamic convolution ", count: 500).utf8)

    @Test func gzipAndDeflateRoundTrip() throws {
        for coding in ContentCoding.allCases {
            let packed = try coding.encode(text)
            #expect(packed.count < text.count / 10)
            #expect(try coding.decode(packed, limit: text.count) == text)
        }
        // gzip magic bytes; zlib header 0x78.
        #expect(try Array(ContentCoding.gzip.encode(text).prefix(2)) == [0x1F, 0x8B])
        #expect(try ContentCoding.deflate.encode(text).first == 0x78)
    }

    @Test func rawDeflateIsAcceptedUnderDeflate() throws {
        // A zlib stream without its 2-byte header and 4-byte checksum is a raw deflate stream.
        let zlib = try ContentCoding.deflate.encode(text)
        let raw = Array(zlib[2..<(zlib.count - 4)])
        #expect(try ContentCoding.deflate.decode(raw, limit: text.count) == text)
    }

    @Test func bombOverTheLimitIs413WithoutInflatingItAll() throws {
        let bomb = try ContentCoding.gzip.encode([UInt8](repeating: 0, count: 8 << 20))
        #expect(bomb.count < 16 << 10)
        #expect(throws: RequestError.self) { try ContentCoding.gzip.decode(bomb, limit: 1 << 20) }
        do {
            _ = try ContentCoding.gzip.decode(bomb, limit: 1 << 20)
        } catch {
            #expect(error.status == 413)
            #expect(error.message.contains("limit of 1048576"))
        }
        // Exactly at the limit is fine.
        #expect(try ContentCoding.gzip.decode(bomb, limit: 8 << 20).count == 8 << 20)
        let deflateBomb = try ContentCoding.deflate.encode([UInt8](repeating: 7, count: 2 << 20))
        #expect(status { try ContentCoding.deflate.decode(deflateBomb, limit: 1 << 20) } == 413)
    }

    @Test func corruptTruncatedTrailingAndEmptyAre400() throws {
        let packed = try ContentCoding.gzip.encode(text)
        var flipped = packed
        flipped[flipped.count / 2] ^= 0xFF
        for (body, fragment) in [(Array("plain text".utf8), "corrupt"), (Array(packed.dropLast(10)), "truncated"),
                                 (packed + [1, 2, 3], "after the end"), ([], "empty"), (flipped, "the gzip body")] {
            do {
                _ = try ContentCoding.gzip.decode(body, limit: 1 << 20)
                Issue.record("accepted a bad gzip body (\(fragment))")
            } catch {
                #expect(error.status == 400)
                #expect(error.message.contains(fragment), "\(error.message)")
            }
        }
        #expect(status { try ContentCoding.deflate.decode(Array("nonsense!".utf8), limit: 100) } == 400)
    }

    @Test func multiMemberGzipInflatesEveryMember() throws {
        let first = try ContentCoding.gzip.encode(Array("first member, ".utf8))
        let second = try ContentCoding.gzip.encode(Array("second member".utf8))
        #expect(try ContentCoding.gzip.decode(first + second, limit: 1 << 20) == Array("first member, second member".utf8))
        // The limit covers all members together.
        #expect(status { _ = try ContentCoding.gzip.decode(first + second, limit: 20) } == 413)
        // A second member that is cut short is still an error.
        #expect(status { _ = try ContentCoding.gzip.decode(first + Array(second.dropLast(4)), limit: 1 << 20) } == 400)
    }

    @Test func headerParsing() throws {
        #expect(try ContentCoding.fromContentEncoding(nil) == nil)
        #expect(try ContentCoding.fromContentEncoding("identity") == nil)
        #expect(try ContentCoding.fromContentEncoding(" GZIP ") == .gzip)
        #expect(try ContentCoding.fromContentEncoding("deflate") == .deflate)
        #expect(status { _ = try ContentCoding.fromContentEncoding("br") } == 415)
        #expect(ContentCoding.fromAcceptEncoding(nil) == nil)
        #expect(ContentCoding.fromAcceptEncoding("gzip, deflate") == .gzip)
        #expect(ContentCoding.fromAcceptEncoding("deflate") == .deflate)
        #expect(ContentCoding.fromAcceptEncoding("gzip;q=0, deflate;q=0.5") == .deflate)
        #expect(ContentCoding.fromAcceptEncoding("br, identity") == nil)
        #expect(ContentCoding.fromAcceptEncoding(";;,, ,q=") == nil)
    }
}

/// The status of the `RequestError` `body` throws; nil when it does not throw (or throws another error).
func status(_ body: () throws -> Void) -> Int? {
    requestError(body)?.status
}

/// The `RequestError` `body` throws; nil when it does not throw (or throws another error).
func requestError<T>(_ body: () throws -> T) -> RequestError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error as? RequestError
    }
}
