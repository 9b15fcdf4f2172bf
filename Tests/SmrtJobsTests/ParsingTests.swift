import Foundation
import Testing
@testable import SmrtJobs

@Suite struct DelayParserTests {
    @Test(arguments: [("500", 500), ("500ms", 500), ("30s", 30_000), ("5m", 300_000), ("2h", 7_200_000),
                      ("1d", 86_400_000), ("0", 0)])
    func parsesUnits(text: String, ms: Int) throws {
        #expect(try DelayParser.milliseconds(text) == ms)
    }

    @Test(arguments: ["5x", "", "-3s", "s", "1.5s", "5 m", "99999999999999999999", "1m30s"])
    func rejectsWithTheValueNamed(text: String) {
        #expect {
            try DelayParser.milliseconds(text)
        } throws: { error in
            "\(error)".contains("invalid delay '\(text)'")
        }
    }

    @Test func durations() throws {
        #expect(try DelayParser.milliseconds(.seconds(2)) == 2000)
        #expect(try DelayParser.milliseconds(.milliseconds(1500)) == 1500)
        #expect(throws: SmrtJobsError.self) { try DelayParser.milliseconds(.seconds(-1)) }
    }
}

@Suite struct PriorityTests {
    @Test func namesAndNumbers() throws {
        #expect(try Priority.parse("critical") == 100)
        #expect(try Priority.parse("HIGH") == 75)
        #expect(try Priority.parse("normal") == 50)
        #expect(try Priority.parse("low") == 25)
        #expect(try Priority.parse("-7") == -7)
    }

    @Test func unknownNameIsAnError() {
        #expect(throws: SmrtJobsError.invalidValue(
            field: "priority", value: "urgent", reason: "expected critical, high, normal, low or an integer")) {
            try Priority.parse("urgent")
        }
    }
}

@Suite struct RetryStrategyTests {
    /// A seeded generator (SplitMix64), so jittered delays are reproducible.
    struct SeededRandom: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func exponentialGrowsAndCaps() {
        var rng = SystemRandomNumberGenerator()
        let strategy = RetryStrategy.exponential(initialDelay: 1000, multiplier: 2, maxDelay: 5000, jitter: false)
        #expect((1...5).map { strategy.delay(afterAttempt: $0, using: &rng) } == [1000, 2000, 4000, 5000, 5000])
    }

    @Test func jitterStaysWithinAQuarterAndIsInjectable() {
        let strategy = RetryStrategy.exponential(initialDelay: 1000, multiplier: 2, maxDelay: 300_000, jitter: true)
        var first = SeededRandom(state: 42), second = SeededRandom(state: 42)
        let a = (1...8).map { strategy.delay(afterAttempt: $0, using: &first)! }
        let b = (1...8).map { strategy.delay(afterAttempt: $0, using: &second)! }
        #expect(a == b)
        #expect(Set(a.prefix(1)).isSubset(of: Set(750...1250)))
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let d = strategy.delay(afterAttempt: 3, using: &rng)!
            #expect((3000...5000).contains(d))
        }
    }

    @Test func linearAndNone() {
        var rng = SystemRandomNumberGenerator()
        #expect(RetryStrategy.linear(delay: 5000).delay(afterAttempt: 7, using: &rng) == 5000)
        #expect(RetryStrategy.none.delay(afterAttempt: 1, using: &rng) == nil)
    }

    @Test func nextRunAtStopsWhenAttemptsAreUsedUp() {
        var rng = SystemRandomNumberGenerator()
        let now = Date(timeIntervalSince1970: 1_000_000)
        var job = SmrtJob(id: 1, objectType: "T", method: "m", runAt: now, attempts: 1, maxAttempts: 3,
                          retryStrategy: .linear(delay: 2000), createdAt: now, updatedAt: now)
        #expect(job.retryStrategy.nextRunAt(after: job, now: now, using: &rng) == now.addingTimeInterval(2))
        job.attempts = 3
        #expect(job.retryStrategy.nextRunAt(after: job, now: now, using: &rng) == nil)
    }

    @Test func persistsAsTypeAndConfig() throws {
        for strategy in [RetryStrategy.default, .linear(delay: 250), .none,
                         .exponential(initialDelay: 10, multiplier: 1.5, maxDelay: 99, jitter: false)] {
            let data = try JSONEncoder().encode(strategy)
            #expect(try JSONDecoder().decode(RetryStrategy.self, from: data) == strategy)
            #expect(try RetryStrategy(jsonValue: strategy.jsonValue) == strategy)
        }
        #expect(RetryStrategy.linear(delay: 250).jsonValue.jsonText == #"{"config":{"delay":250},"type":"linear"}"#)
        #expect(throws: SmrtJobsError.self) { try RetryStrategy(jsonValue: ["type": "fibonacci"]) }
    }
}

@Suite struct JSONValueTests {
    @Test func parsesAndPrintsCompactSortedJSON() throws {
        let value = try JSONValue.parse(#"{"b": [1, 2.5, "x\n"], "a": null, "c": true}"#)
        #expect(value.jsonText == #"{"a":null,"b":[1,2.5,"x\n"],"c":true}"#)
    }

    @Test func badJSONNamesWhat() {
        #expect {
            try JSONValue.parseObject("{not-json", what: "--args")
        } throws: { error in
            "\(error)".hasPrefix("invalid JSON in --args")
        }
        #expect(throws: SmrtJobsError.self) { try JSONValue.parseObject("[1]") }
    }
}
