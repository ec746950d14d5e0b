import Testing
import DyNN

@Suite struct LatencyStatisticsTests {
    @Test func oddCountMedianIsTheMiddleValue() throws {
        let s = try #require(LatencyStatistics([5, 1, 3]))
        #expect(s.median == 3)
        #expect(s.minimum == 1 && s.maximum == 5)
        #expect(s.mean == 3)
    }

    @Test func evenCountMedianIsTheMeanOfTheTwoMiddleValues() throws {
        let s = try #require(LatencyStatistics([4, 1, 3, 2]))
        #expect(s.median == 2.5)
    }

    @Test func p90IsTheNearestRank() throws {
        // n = 10: rank ceil(9) = 9, the 9th smallest.
        let ten = try #require(LatencyStatistics((1...10).map(Double.init).reversed()))
        #expect(ten.p90 == 9)
        // n = 11: rank ceil(9.9) = 10.
        let eleven = try #require(LatencyStatistics((1...11).map(Double.init)))
        #expect(eleven.p90 == 10)
        // n = 20: rank 18.
        let twenty = try #require(LatencyStatistics((1...20).map(Double.init)))
        #expect(twenty.p90 == 18)
        // Fewer than 10 samples: the maximum.
        let three = try #require(LatencyStatistics([2, 7, 1]))
        #expect(three.p90 == 7)
    }

    @Test func singleSample() throws {
        let s = try #require(LatencyStatistics([0.25]))
        #expect(s.median == 0.25 && s.p90 == 0.25 && s.count == 1)
    }

    @Test func emptyOrNonFiniteSamplesGiveNothing() {
        #expect(LatencyStatistics([]) == nil)
        #expect(LatencyStatistics([1, .nan]) == nil)
        #expect(LatencyStatistics([.infinity]) == nil)
    }
}
