import Foundation
import Logging
import SmrtJobs
import Testing
@testable import SmrtSupervisor

/// The byte-level formatting of log lines (hand-written for speed: two lines per job).
@Suite struct LogFormattingTests {
    func text(_ body: (inout [UInt8]) -> Void) -> String {
        var bytes: [UInt8] = []
        body(&bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test(arguments: [
        (0.0, "0.000"), (2.5, "2.500"), (0.0004, "0.000"), (0.0005, "0.001"), (1234.5678, "1234.568"),
        (-3.25, "-3.250"), (-0.0004, "0.000"), (1e6, "1000000.000"),
    ])
    func millisHaveThreeDecimals(value: Double, expected: String) {
        #expect(text { SupervisorLogHandler.appendMillis(value, to: &$0) } == expected)
    }

    @Test(arguments: [Int64(0), 7, -7, 42, 1_000_000, Int64.max, Int64.min])
    func integersPrintAsDescription(value: Int64) {
        #expect(text { SupervisorLogHandler.appendInteger(value, to: &$0) } == value.description)
    }

    @Test func jsonStringsEscapeQuotesBackslashesAndControls() throws {
        let raw = "plain é ✓ \"q\" back\\slash\n\r\t\u{1}\u{1f} end"
        let encoded = text { SupervisorLogHandler.appendJSONString(raw, to: &$0) }
        #expect(encoded == #""plain é ✓ \"q\" back\\slash\n\r\t\u0001\u001f end""#)
        let decoded = try JSONSerialization.jsonObject(with: Data("[\(encoded)]".utf8)) as? [String]
        #expect(decoded == [raw])
    }

    @Test func timestampIsFixedWidthUTC() throws {
        let stamp = SupervisorLogHandler.timestamp()
        #expect(stamp.utf8.count == 24 && stamp.hasSuffix("Z"))
        let parsed = try #require(Timestamp.parse(stamp))
        #expect(abs(parsed.timeIntervalSinceNow) < 5)
    }

    @Test func textValuesQuoteOnlyWhenNeeded() {
        let line = SupervisorLogHandler.textLine(
            level: .info, message: "m",
            metadata: ["a": "plain", "b": "", "c": "x=y", "d": "line\u{2028}break", "e": "é", "f": .ms(1.5), "g": .int(3)])
        #expect(line.hasSuffix(#" info m a=plain b="" c="x=y" d="line"# + "\u{2028}" + #"break" e=é f=1.500 g=3"# + "\n"))
    }
}
