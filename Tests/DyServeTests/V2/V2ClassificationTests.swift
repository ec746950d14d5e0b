import DyNN
import Foundation
import Testing
@testable import DyServe

/// The classification extension (`"parameters": {"classification": N}` on an output) and
/// `"outputs": []`.
@Suite struct V2ClassificationTests {
    static let input = #""inputs": [{"name": "input", "shape": [2, 1, 2, 2], "datatype": "FP32", "data": [1, 1, 0, 0, 0, 0, 3, 0]}]"#

    static func expected(_ k: Int, labels: [String]? = ["left", "right", "none"]) -> [String] {
        let rows = [TestModel.softmax([2, 0, 0]), TestModel.softmax([0, 3, 0])]
        return rows.flatMap { row in
            Tensor(shape: [1, 3], data: row).topK(k)[0].map { r in
                String(format: "%f", Double(r.score)) + ":\(r.index)" + (labels.map { ":" + $0[r.index] } ?? "")
            }
        }
    }

    @Test func topClassesAsJSONStrings() throws {
        let api = APIHarness()
        defer { api.pool?.shutdown() }
        let r = api.post(#"{\#(Self.input), "outputs": [{"name": "probs", "parameters": {"classification": 2}}]}"#, path: "/v2/models/test/infer")
        #expect(r.status == 200, "\(r.text)")
        let output = try #require((r.json["outputs"] as? [[String: Any]])?.first)
        #expect(output["datatype"] as? String == "BYTES" && output["shape"] as? [Int] == [2, 2])
        #expect(output["data"] as? [String] == Self.expected(2))
        // Sample 0 ranks class 0 first, then the tie 1 / 2 in index order.
        #expect((output["data"] as? [String])?[1].hasSuffix(":1:right") == true)
    }

    @Test func topClassesAsBinaryAndCutToTheClassCount() throws {
        let api = APIHarness(models: ["test": TestModel(labels: nil)])
        defer { api.pool?.shutdown() }
        let body = #"{\#(Self.input), "outputs": [{"name": "probs", "parameters": {"classification": 10, "binary_data": true}}]}"#
        let r = api.post(body, path: "/v2/models/test/infer")
        #expect(r.status == 200, "\(r.text)")
        let length = try #require(Int(r.header("inference-header-content-length") ?? ""))
        let head = (try JSONSerialization.jsonObject(with: Data(r.body.prefix(length)))) as? [String: Any]
        let output = try #require((head?["outputs"] as? [[String: Any]])?.first)
        #expect(output["datatype"] as? String == "BYTES" && output["shape"] as? [Int] == [2, 3])
        var strings: [String] = []
        var at = length
        while at + 4 <= r.body.count {
            let n = Int(r.body[at]) | Int(r.body[at + 1]) << 8 | Int(r.body[at + 2]) << 16 | Int(r.body[at + 3]) << 24
            strings.append(String(decoding: r.body[(at + 4)..<(at + 4 + n)], as: UTF8.self))
            at += 4 + n
        }
        #expect(at == r.body.count)
        #expect((output["parameters"] as? [String: Any])?["binary_data_size"] as? Int == r.body.count - length)
        #expect(strings == Self.expected(3, labels: nil))
    }

    @Test func classificationErrors() {
        let api = APIHarness()
        defer { api.pool?.shutdown() }
        let trace = api.post(#"{\#(Self.input), "parameters": {"trace": "attention"}, "outputs": [{"name": "attention/conv1", "parameters": {"classification": 1}}]}"#, path: "/v2/models/test/infer")
        #expect(trace.status == 400 && trace.errorMessage.contains("classification is for the model's outputs"))
        let negative = api.post(#"{\#(Self.input), "outputs": [{"name": "probs", "parameters": {"classification": -2}}]}"#, path: "/v2/models/test/infer")
        #expect(negative.status == 400 && negative.errorMessage.contains("positive integer"))
    }

    @Test func emptyOutputListMeansEveryOutput() throws {
        let api = APIHarness()
        defer { api.pool?.shutdown() }
        let r = api.post(#"{\#(Self.input), "outputs": []}"#, path: "/v2/models/test/infer")
        #expect(r.status == 200, "\(r.text)")
        #expect((r.json["outputs"] as? [[String: Any]])?.map { $0["name"] as? String } == ["probs"])
    }
}
