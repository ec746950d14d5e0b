import ArgumentParser
import DyNN
import Foundation

/// `dyserve inspect`: the model's layers with their output shapes, parameters and multiply-adds.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a per-layer table of a model: op, output shape, parameters, multiply-adds."
    )

    @OptionGroup var modelOptions: ModelOptions

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    func run() throws {
        let model = try modelOptions.load()
        let summary = model.summary(batch: 1)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let report = InspectReport(name: model.spec.name, version: model.spec.version, summary: summary)
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            printTable(model.spec, summary)
        }
    }

    private func printTable(_ spec: ModelSpec, _ summary: ModelSummary) {
        print("\(spec.name) (version \(spec.version))")
        let header = ["layer", "op", "output", "params", "MACs"]
        var rows = summary.rows.map { row in
            [row.name, row.op, "[" + row.outputShape.map(String.init).joined(separator: ",") + "]",
             grouped(row.parameters), grouped(row.macs)]
        }
        rows.append(["total", "", "", grouped(summary.totalParams), grouped(summary.totalMacs)])
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        for (index, row) in ([header] + rows).enumerated() {
            if index == rows.count { print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
            print(row.enumerated().map { column, cell in
                column >= 3 ? String(repeating: " ", count: widths[column] - cell.count) + cell
                            : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  "))
        }
        print(String(format: "%.2fM parameters, %.1fM multiply-adds per sample",
                     Double(summary.totalParams) / 1e6, Double(summary.totalMacs) / 1e6))
    }

    private func grouped(_ value: Int) -> String {
        let digits = String(value)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return out
    }
}

/// `inspect --json`: totals first, then the layers.
private struct InspectReport: Encodable {
    struct Layer: Encodable {
        var name: String
        var op: String
        var output_shape: [Int]
        var params: Int
        var macs: Int
    }
    var name: String
    var version: String
    var total_params: Int
    var total_macs: Int
    var layers: [Layer]

    init(name: String, version: String, summary: ModelSummary) {
        self.name = name
        self.version = version
        total_params = summary.totalParams
        total_macs = summary.totalMacs
        layers = summary.rows.map {
            Layer(name: $0.name, op: $0.op, output_shape: $0.outputShape, params: $0.parameters, macs: $0.macs)
        }
    }
}
