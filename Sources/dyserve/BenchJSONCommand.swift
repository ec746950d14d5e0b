import ArgumentParser
import DyServe
import Foundation

/// `dyserve bench-json`: the hand-written JSON reader and writer against Foundation's on
/// `/infer`-shaped bodies (`JSONCodecBenchmark`); the figures behind keeping or dropping them.
struct BenchJSONCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-json",
        abstract: "Time JSONReader/JSONWriter against JSONSerialization and JSONDecoder/JSONEncoder."
    )

    @Option(help: "Timed rounds per contender; the median is reported.")
    var rounds = 15

    @Option(help: "Shortest time one round repeats its call for, in seconds.")
    var roundSeconds = 0.2

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard roundSeconds > 0 else { throw ValidationError("--round-seconds must be positive") }
    }

    func run() throws {
        let results = try JSONCodecBenchmark.run(rounds: rounds, minimumRoundSeconds: roundSeconds)
        print("median of \(rounds) rounds (each at least \(roundSeconds) s); time per call in microseconds")
        print("body                op      codec                        median        min        max      bytes  vs hand-written")
        for result in results {
            let hand = results.first { $0.body == result.body && $0.operation == result.operation }
            let ratio = hand.map { result.medianMicroseconds / $0.medianMicroseconds } ?? 1
            print(pad(result.body, 19), pad(result.operation, 7), pad(result.codec, 26),
                  number(result.medianMicroseconds), number(result.minMicroseconds), number(result.maxMicroseconds),
                  String(result.bytes).leftPadded(10), String(format: "%8.2fx", ratio))
        }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private func number(_ value: Double) -> String {
        String(format: "%10.1f", value)
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
