import Foundation
import Testing
@testable import DyServe

@Suite struct JSONWriterTests {
    @Test func writesValidJSONWithCommasAndEscapes() throws {
        var w = JSONWriter()
        w.beginObject()
        w.key("s"); w.string("a\"b\\c\n\u{01}é")
        w.key("f"); w.floats([1, 0.1, -2.5e-7, .nan, .infinity])
        w.key("i"); w.ints([])
        w.key("o"); w.beginObject(); w.endObject()
        w.key("b"); w.bool(true)
        w.endObject()
        let parsed = try JSONSerialization.jsonObject(with: Data(w.bytes)) as? [String: Any]
        #expect(parsed?["s"] as? String == "a\"b\\c\n\u{01}é")
        let floats = parsed?["f"] as? [Any]
        #expect(floats?.count == 5)
        #expect((floats?[1] as? NSNumber)?.floatValue == 0.1)
        #expect(floats?[3] is NSNull && floats?[4] is NSNull)
        #expect(w.string.contains("\"i\":[]"))
    }
}
